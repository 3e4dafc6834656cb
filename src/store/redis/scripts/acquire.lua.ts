import { MAX_LEASE_MS, MAX_LIMIT } from '../../../core/limits';
import { KEY_GRACE_MS, luaHelpers } from './gate-helpers.lua';

/**
 * Takes a holder's units of a gate (and of its tenant's share), or queues it, or says why not,
 * in one atomic step. A newcomer never overtakes a queued waiter that could use the units.
 */
export const ACQUIRE_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end (server ms)
--   KEYS[2]  the gate's book: admissions, last token, counters and waiters (see the helpers)
--   KEYS[3]  the gate's queue: sorted set of waiting holder ids scored by ticket
--   ARGV[1]  holder id
--   ARGV[2]  limit in units; 0 means unlimited (the holder is still recorded)
--   ARGV[3]  lease length in ms
--   ARGV[4]  attempt id: names this call, so that a release can undo it if its answer is lost
--   then either the short form, for a plain acquire (no retry, cost 1, no tenant, no waiting):
--   ARGV[5]  the channel that announces admissions handed to waiters
--   ARGV[6]  the command that announces them: 'PUBLISH' or 'SPUBLISH'
--   or the full form:
--   ARGV[5]  '1' for a retry: a new admission (new token) even when the holder still holds
--   ARGV[6]  cost: units this holder takes
--   ARGV[7]  tenant, or '' for none
--   ARGV[8]  the tenant's share of the limit in units; 0 means no share
--   ARGV[9]  waiter lease in ms: when > 0 and the holder cannot be admitted, it joins the queue
--            and must renew its place within this
--   ARGV[10] the channel, as ARGV[5] of the short form
--   ARGV[11] the command, as ARGV[6] of the short form
-- Output:
--   { admitted, alreadyHeld, used, reclaimed, expiresAt, now, token, refusedBy, position,
--     tenantUsed }
--   admitted and alreadyHeld are 0/1; used counts units after the call; expiresAt and token are
--   0 when not admitted; refusedBy is 0 (admitted), 1 (the model's limit or waiters ahead) or
--   2 (the tenant's share); position is the place in the queue (1 = next) when queued, else 0.
--   The common path of the short form answers '<admitted>:<used>:<expiresAt>:<now>:<token>'
--   instead, one string (Redis builds an array reply at a cost of its own): the others are 0, and
--   refusedBy is 1 when it did not admit.
${luaHelpers('book_fields', 'server_now', 'checked_integer')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local holder, attempt = ARGV[1], ARGV[4]
local limit = checked_integer(ARGV[2], 'limit', 0, ${MAX_LIMIT})
local lease_ms = checked_integer(ARGV[3], 'leaseMs', 1, ${MAX_LEASE_MS})
local now_ms, now_us = server_now()
local expires_at = now_ms + lease_ms

-- 1. The common case, first and alone: a plain acquire (the short form) on a gate nobody waits
--    at, whose book says that no lease has ended yet (its bound on the oldest lease end lies
--    ahead) and that the keys' expiry already covers this lease. It reads the book once and
--    writes the holder and its admission once each. Any other case goes on to the full path
--    below, before anything was written here.
if #ARGV == 6 then
  local fields = redis.call('HMGET', book, '', EXTRA_UNITS, QUEUED, KEY_END, OLDEST)
  local last, extra, queued = tonumber(fields[1]), tonumber(fields[2]), tonumber(fields[3])
  local key_end, oldest = tonumber(fields[4]), tonumber(fields[5])
  if last and extra and queued == 0 and oldest and oldest > now_ms and key_end
    and key_end >= expires_at + ${KEY_GRACE_MS} then
    local holders = redis.call('ZCARD', key)
    local used = holders + extra
    if limit == 0 or used < limit then
      -- Room: NX adds a new holder (one that already holds takes the full path).
      if redis.call('ZADD', key, 'NX', expires_at, holder) == 1 then
        -- One write: the admission, the last token, and the bound when this lease ends first.
        -- string.format, as Lua's own number-to-string would write a token in exponent form.
        local token = math.max(last + 1, now_us)
        local value = string.format('%d:%s', token, attempt)
        if expires_at < oldest then
          redis.call('HSET', book, holder, value, '', token, OLDEST, expires_at)
        else
          redis.call('HSET', book, holder, value, '', token)
        end
        -- A holders key this call created takes the expiry the book records for both keys.
        if holders == 0 then redis.call('PEXPIREAT', key, key_end) end
        return string.format('1:%d:%d:%d:%d', used + 1, expires_at, now_ms, token)
      end
    elseif not redis.call('ZSCORE', key, holder) then
      -- Full, and not a holder already: refused by the model's limit.
      return string.format('0:%d:0:%d:0', used, now_ms)
    end
  end
end

-- The full path: a retry, a weighted or tenant's task, one that may wait, a holder that already
-- holds, waiters ahead, leases to reclaim, keys to keep alive, or a book to set up.
${luaHelpers('next_token', 'parse_admission', 'count_units', 'seed_counters', 'format_admission', 'record_admission', 'drop_holder', 'outlive_lease', 'reclaim_ended', 'parse_waiter', 'dequeue', 'admit_waiters')}
local renew, cost, tenant, per_tenant, waiter_lease_ms = false, 1, false, 0, 0
if #ARGV > 6 then
  renew = ARGV[5] == '1'
  cost = checked_integer(ARGV[6], 'cost', 1, ${MAX_LIMIT})
  tenant = ARGV[7] ~= '' and ARGV[7] or false
  per_tenant = checked_integer(ARGV[8], 'perTenant', 0, ${MAX_LIMIT})
  waiter_lease_ms = checked_integer(ARGV[9], 'waiterLeaseMs', 0, ${MAX_LEASE_MS})
end
local channel, publish = ARGV[#ARGV - 1], ARGV[#ARGV]

-- 2. One read of the book: last token, extra units, waiters, the expiry the keys were given,
--    the bound on the oldest lease end, and the tenant's units when there is a tenant.
local function read_book()
  if tenant then
    return redis.call('HMGET', book, '', EXTRA_UNITS, QUEUED, KEY_END, OLDEST,
      TENANT_UNITS .. tenant)
  end
  return redis.call('HMGET', book, '', EXTRA_UNITS, QUEUED, KEY_END, OLDEST)
end
local fields = read_book()

-- 3. Reclaim leases that ended. While the book's bound on the oldest lease end lies ahead, none
--    has, and there is nothing to look at. Otherwise reclaim, and bound the oldest lease left:
--    in the book when it has a last token (else the admission below writes it, or nobody).
local reclaimed = 0
local oldest = tonumber(fields[5])
local oldest_known = oldest ~= nil and oldest > now_ms
if not oldest_known then
  reclaimed = reclaim_ended(key, book, now_ms)
  oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
  oldest_known = true
  if fields[1] and oldest then
    redis.call('HSET', book, OLDEST, oldest)
  elseif fields[1] then
    redis.call('HDEL', book, OLDEST)
  end
  -- Reclaimed holders took their units with them: read the counters again.
  if reclaimed > 0 then fields = read_book() end
end
local last = tonumber(fields[1]) or 0
local holders = redis.call('ZCARD', key)
local used = holders + (tonumber(fields[2]) or 0)

-- 4. Waiters came first: hand them what is free before this newcomer may take anything. When
--    not even one unit is free, nobody could be handed anything: skip the walk.
local blocked = false
if (tonumber(fields[3]) or 0) > 0 then
  if limit ~= 0 and used >= limit then
    blocked = true
  else
    blocked = admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
    fields = read_book()
    last = tonumber(fields[1]) or 0
    holders = redis.call('ZCARD', key)
    used = holders + (tonumber(fields[2]) or 0)
    -- Admissions to waiters lower a bound they find; one they do not find stays unknown.
    oldest = tonumber(fields[5])
    oldest_known = oldest_known and (oldest ~= nil or holders == 0)
  end
end
local tenant_used = tenant and (tonumber(fields[6]) or 0) or 0
-- The expiry the book records holds for the holders key only while that key exists.
local key_end = holders > 0 and tonumber(fields[4]) or nil

-- 5. Which limit, if any, refuses a new admission.
local refused = 0
if blocked or (limit ~= 0 and used + cost > limit) then
  refused = 1
elseif tenant and per_tenant ~= 0 and tenant_used + cost > per_tenant then
  refused = 2
end

if refused == 0 then
  -- 6a. Room: NX adds a new holder and leaves one that already holds untouched. The counters a
  --     book lacks are written first, ahead of the holder in a new book.
  if redis.call('ZADD', key, 'NX', expires_at, holder) == 1 then
    seed_counters(book, fields)
    local token = next_token(book, now_us, last)
    local value = format_admission(token, attempt, cost, tenant)
    if oldest_known and (not oldest or expires_at < oldest) then
      redis.call('HSET', book, holder, value, '', token, OLDEST, expires_at)
    else
      redis.call('HSET', book, holder, value, '', token)
    end
    count_units(book, cost, tenant, 1)
    outlive_lease(key, book, expires_at, key_end)
    if tenant then tenant_used = tenant_used + cost end
    return { 1, 0, used + cost, reclaimed, expires_at, now_ms, token, 0, 0, tenant_used }
  end
end

-- 6b. A holder that already holds keeps its one admission, whatever the limits say now.
local held = redis.call('ZSCORE', key, holder)
if not held then
  if waiter_lease_ms == 0 then
    return { 0, 0, used, reclaimed, 0, now_ms, 0, refused, 0, tenant_used }
  end
  -- 7. Join the queue (or renew a place already taken: the ticket stays, the attempt is this
  --    call's) and make the keys outlive the waiter's lease.
  seed_counters(book, fields)
  local waiter = {
    deadline = now_ms + waiter_lease_ms, lease_ms = lease_ms, limit = limit,
    per_tenant = per_tenant, cost = cost, attempt = attempt, tenant = tenant,
  }
  if redis.call('HSET', book, WAITER .. holder, format_waiter(waiter)) == 1 then
    local ticket = redis.call('HINCRBY', book, TICKET, 1)
    redis.call('ZADD', queue, ticket, holder)
    redis.call('HINCRBY', book, QUEUED, 1)
  end
  redis.call('PEXPIREAT', queue, now_ms + waiter_lease_ms + ${KEY_GRACE_MS})
  outlive_lease(key, book, now_ms + waiter_lease_ms, key_end)
  local position = redis.call('ZRANK', queue, holder) + 1
  return { 0, 0, used, reclaimed, 0, now_ms, 0, refused, position, tenant_used }
end

-- 8. Refresh the holder's lease, never shortening it.
held = tonumber(held)
if expires_at > held then
  redis.call('ZADD', key, expires_at, holder)
else
  expires_at = held
end

-- 9. Its token stays, unless this is a retry: a new admission (same units), undone by this
--    attempt's id. A holder recorded before tokens existed gets one, which no attempt may undo:
--    this call did not admit it.
local value = redis.call('HGET', book, holder)
local token, _, held_cost, held_tenant = parse_admission(value)
if renew or not token then
  if value then count_units(book, held_cost, held_tenant, -1) end
  token = next_token(book, now_us, last)
  record_admission(book, holder, token, renew and attempt or '', held_cost or 1, held_tenant,
    expires_at)
end

-- 10. The keys must live at least as long as their longest lease.
outlive_lease(key, book, expires_at, key_end)

return { 1, 1, used, reclaimed, expires_at, now_ms, token, 0, 0, tenant_used }
`;
