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
--   ARGV[5]  '1' for a retry: a new admission (new token) even when the holder still holds
--   ARGV[6]  cost: units this holder takes
--   ARGV[7]  tenant, or '' for none
--   ARGV[8]  the tenant's share of the limit in units; 0 means no share
--   ARGV[9]  waiter lease in ms: when > 0 and the holder cannot be admitted, it joins the queue
--            and must renew its place within this
--   ARGV[10] the channel that announces admissions handed to waiters
--   ARGV[11] the command that announces them: 'PUBLISH' or 'SPUBLISH'
-- Output:
--   { admitted, alreadyHeld, used, reclaimed, expiresAt, now, token, refusedBy, position,
--     tenantUsed }
--   admitted and alreadyHeld are 0/1; used counts units after the call; expiresAt and token are
--   0 when not admitted; refusedBy is 0 (admitted), 1 (the model's limit or waiters ahead) or
--   2 (the tenant's share); position is the place in the queue (1 = next) when queued, else 0.
${luaHelpers('book_fields', 'server_now', 'checked_integer', 'next_token', 'parse_admission', 'count_units', 'record_admission', 'drop_holder', 'outlive_lease', 'reclaim_ended', 'units_of', 'parse_waiter', 'dequeue', 'admit_waiters')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local holder = ARGV[1]
local limit = checked_integer(ARGV[2], 'limit', 0, ${MAX_LIMIT})
local lease_ms = checked_integer(ARGV[3], 'leaseMs', 1, ${MAX_LEASE_MS})
local attempt = ARGV[4]
local renew = ARGV[5] == '1'
local cost = checked_integer(ARGV[6], 'cost', 1, ${MAX_LIMIT})
local tenant = ARGV[7] ~= '' and ARGV[7] or false
local per_tenant = checked_integer(ARGV[8], 'perTenant', 0, ${MAX_LIMIT})
local waiter_lease_ms = checked_integer(ARGV[9], 'waiterLeaseMs', 0, ${MAX_LEASE_MS})
local channel, publish = ARGV[10], ARGV[11]
local now_ms, now_us = server_now()

-- 1. Reclaim leases that ended.
local reclaimed = reclaim_ended(key, book, now_ms)

-- 2. One read for the counters: last token, extra units, waiters, the tenant's units.
local fields = redis.call('HMGET', book, '', EXTRA_UNITS, QUEUED, TENANT_UNITS .. (tenant or ''))
local last = tonumber(fields[1]) or 0

local used = redis.call('ZCARD', key) + (tonumber(fields[2]) or 0)

-- 3. Waiters came first: hand them what is free before this newcomer may take anything. When
--    not even one unit is free, nobody could be handed anything: skip the walk.
local blocked = false
if (tonumber(fields[3]) or 0) > 0 then
  if limit ~= 0 and used >= limit then
    blocked = true
  else
    blocked = admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
    fields = redis.call('HMGET', book, '', EXTRA_UNITS, QUEUED, TENANT_UNITS .. (tenant or ''))
    last = tonumber(fields[1]) or 0
    used = redis.call('ZCARD', key) + (tonumber(fields[2]) or 0)
  end
end
local tenant_used = tenant and (tonumber(fields[4]) or 0) or 0

-- 4. Which limit, if any, refuses a new admission.
local refused = 0
if blocked or (limit ~= 0 and used + cost > limit) then
  refused = 1
elseif tenant and per_tenant ~= 0 and tenant_used + cost > per_tenant then
  refused = 2
end

local expires_at = now_ms + lease_ms
if refused == 0 then
  -- 5a. Room: NX adds a new holder and leaves one that already holds untouched.
  if redis.call('ZADD', key, 'NX', expires_at, holder) == 1 then
    local token = next_token(book, now_us, last)
    record_admission(book, holder, token, attempt, cost, tenant)
    outlive_lease(key, book, expires_at, now_ms)
    if tenant then tenant_used = tenant_used + cost end
    return { 1, 0, used + cost, reclaimed, expires_at, now_ms, token, 0, 0, tenant_used }
  end
end

-- 5b. A holder that already holds keeps its one admission, whatever the limits say now.
local held = redis.call('ZSCORE', key, holder)
if not held then
  if waiter_lease_ms == 0 then
    return { 0, 0, used, reclaimed, 0, now_ms, 0, refused, 0, tenant_used }
  end
  -- 6. Join the queue (or renew a place already taken: the ticket stays, the attempt is this
  --    call's) and make the keys outlive the waiter's lease.
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
  outlive_lease(key, book, now_ms + waiter_lease_ms, now_ms)
  local position = redis.call('ZRANK', queue, holder) + 1
  return { 0, 0, used, reclaimed, 0, now_ms, 0, refused, position, tenant_used }
end

-- 7. Refresh the holder's lease, never shortening it.
held = tonumber(held)
if expires_at > held then
  redis.call('ZADD', key, expires_at, holder)
else
  expires_at = held
end

-- 8. Its token stays, unless this is a retry: a new admission (same units), undone by this
--    attempt's id. A holder recorded before tokens existed gets one, which no attempt may undo:
--    this call did not admit it.
local value = redis.call('HGET', book, holder)
local token, _, held_cost, held_tenant = parse_admission(value)
if renew or not token then
  if value then count_units(book, held_cost, held_tenant, -1) end
  token = next_token(book, now_us, last)
  record_admission(book, holder, token, renew and attempt or '', held_cost or 1, held_tenant)
end

-- 9. The keys must live at least as long as their longest lease.
outlive_lease(key, book, expires_at, now_ms)

return { 1, 1, used, reclaimed, expires_at, now_ms, token, 0, 0, tenant_used }
`;
