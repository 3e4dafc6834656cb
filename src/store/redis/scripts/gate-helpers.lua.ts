/**
 * How long a gate's keys outlive its longest lease at least, in ms (at most this plus
 * {@link KEY_SLACK_MS}). Within this margin an acquire still finds holders whose leases ended and
 * reports them as `reclaimed` (the leak signal), even when every holder of the gate leaked; past
 * it the keys of an unused gate go away as garbage.
 */
export const KEY_GRACE_MS = 24 * 3600 * 1000;

/**
 * How far past the grace a script pushes a gate's keys when it pushes them at all, in ms. The
 * book records the expiry it set, so an acquire whose lease end plus the grace is still covered
 * writes nothing: with leases of one length the keys are pushed about once per slack, not on
 * every call.
 */
export const KEY_SLACK_MS = 3600 * 1000;

/** Most queued waiters one script looks at when handing freed slots to the queue. */
export const MAX_WAITERS_PER_HANDOFF = 64;

/**
 * Lua helpers of the gate scripts, one function each, with explicit inputs, so a script reads on
 * its own (`local now_ms, now_us = server_now()`) and carries only the helpers it calls. Pass
 * them to {@link luaHelpers} in the order they depend on each other; `book_fields` first.
 *
 * A gate is three keys in one hash slot:
 * - the holders: a sorted set of holder ids scored by lease end;
 * - the book: a hash of each holder's admission (`<token>:<attempt>`, or
 *   `<token>:<attempt>:<cost>:<tenant>` for a weighted or tenant's task), the gate's last token
 *   under the field '', and under fields that start with the byte 0xFF, which no UTF-8 task id
 *   can start with: the gate's counters, the expiry its keys were given, a bound on its oldest
 *   lease end and its waiters;
 * - the queue: a sorted set of waiting holder ids scored by ticket (arrival order).
 */
export const LUA_HELPERS = {
  book_fields: `
-- Fields of the book that are not holders. Each starts with the byte 0xFF: task ids are UTF-8,
-- where that byte never occurs, so no holder can collide with them.
local EXTRA_UNITS = '\\255x'  -- units held beyond one per holder: the sum of (cost - 1)
local TENANT_UNITS = '\\255t' -- .. tenant: units the tenant's holders hold
local QUEUED = '\\255q'       -- waiters in the queue
local KEY_END = '\\255e'      -- the expiry last given to the holders and the book (server ms)
local OLDEST = '\\255o'       -- no holder's lease ends before this (server ms); absent: unknown
local TICKET = '\\255n'       -- the last ticket handed to a waiter
local WAITER = '\\255w'       -- .. holder: the waiter's record (see parse_waiter)
local RECLAIMED = '\\255r'    -- leases reclaimed since the book was made: the gate's leak count
`,
  server_now: `
-- The Redis server's clock as (ms, us): every instance measures leases on this one clock.
-- (Redis >= 5 replicates a script's effects, so reading TIME before a write is allowed.)
local function server_now()
  local time = redis.call('TIME')
  local seconds, micros = tonumber(time[1]), tonumber(time[2])
  return seconds * 1000 + (micros - micros % 1000) / 1000, seconds * 1000000 + micros
end
`,
  checked_integer: `
-- Fails the script unless value is an integer in [min, max]. Scripts check every input before
-- their first write, so a bad call never leaves half a change behind. (x % 1 is the fraction of
-- x; every call runs this, and it spares the lookup of math.floor.)
local function checked_integer(value, name, min, max)
  local number = tonumber(value)
  if number == nil or number % 1 ~= 0 or number < min or number > max then
    error({ err = 'ERR queue-gate: ' .. name .. ' must be an integer in [' .. min .. ', ' .. max ..
      '], got ' .. tostring(value) })
  end
  return number
end
`,
  next_token: `
-- The next fencing token of a gate: one more than the last, and never below the server clock in
-- microseconds, so tokens keep increasing even after the gate's keys expired. known_last saves
-- the read when the caller already has the book's '' field.
local function next_token(book, now_us, known_last)
  local last = known_last or tonumber(redis.call('HGET', book, '')) or 0
  return math.max(last + 1, now_us)
end
`,
  parse_admission: `
-- A holder's admission: token, attempt, cost and tenant (false when none). Nil when absent.
local function parse_admission(value)
  if not value then return nil end
  local token, attempt, rest = string.match(value, '^(%d+):([^:]*)(.*)$')
  local cost, tenant = 1, false
  if rest ~= '' then
    local weight, owner = string.match(rest, '^:(%d+):(.*)$')
    cost = tonumber(weight)
    if owner ~= '' then tenant = owner end
  end
  return tonumber(token), attempt, cost, tenant
end
`,
  count_units: `
-- Adds sign * cost units to the gate (beyond its one per holder) and to the tenant. The gate's
-- counter stays in the book at 0 (see seed_counters); a tenant's is deleted at 0, so tenants that
-- come and go leave no garbage. A holder of cost 1 without a tenant changes no counter.
local function count_units(book, cost, tenant, sign)
  if cost ~= 1 then redis.call('HINCRBY', book, EXTRA_UNITS, sign * (cost - 1)) end
  if tenant and redis.call('HINCRBY', book, TENANT_UNITS .. tenant, sign * cost) == 0 then
    redis.call('HDEL', book, TENANT_UNITS .. tenant)
  end
end
`,
  seed_counters: `
-- Writes the fields read on every acquire that a book lacks (the last token, the extra units, the
-- waiters), given as read by HMGET, with their empty values: in a new book (or one from before
-- they stayed) ahead of its holders. A small hash is a list that Redis walks in order to find a
-- field, and it walks all of it to answer that a field is absent; fields that are always there,
-- near the front, are found in a few steps. Callers make sure the book gets an expiry.
local function seed_counters(book, fields)
  if fields[1] and fields[2] and fields[3] then return end
  local seeds = {}
  if not fields[1] then seeds[#seeds + 1] = ''; seeds[#seeds + 1] = 0 end
  if not fields[2] then seeds[#seeds + 1] = EXTRA_UNITS; seeds[#seeds + 1] = 0 end
  if not fields[3] then seeds[#seeds + 1] = QUEUED; seeds[#seeds + 1] = 0 end
  redis.call('HSET', book, unpack(seeds))
end
`,
  format_admission: `
-- A holder's admission as the book stores it. string.format, as Lua's own number-to-string would
-- write a token in exponent form.
local function format_admission(token, attempt, cost, tenant)
  if cost ~= 1 or tenant then
    return string.format('%d:%s:%d:%s', token, attempt, cost, tenant or '')
  end
  return string.format('%d:%s', token, attempt)
end
`,
  record_admission: `
-- Records an admission of a holder whose lease ends at lease_end: its token with the attempt
-- that took it (and its cost and tenant when it has them), the gate's last token, and the units
-- it takes. A lease that ends before the book's bound on the oldest lowers it.
local function record_admission(book, holder, token, attempt, cost, tenant, lease_end)
  local value = format_admission(token, attempt, cost, tenant)
  local oldest = tonumber(redis.call('HGET', book, OLDEST))
  if oldest and lease_end < oldest then
    redis.call('HSET', book, holder, value, '', token, OLDEST, lease_end)
  else
    redis.call('HSET', book, holder, value, '', token)
  end
  count_units(book, cost, tenant, 1)
end
`,
  drop_holder: `
-- Removes a holder, its admission and its units; returns 1 when it held.
local function drop_holder(key, book, holder, value)
  local removed = redis.call('ZREM', key, holder)
  if value then
    local _, _, cost, tenant = parse_admission(value)
    redis.call('HDEL', book, holder)
    count_units(book, cost, tenant, -1)
  end
  return removed
end
`,
  outlive_lease: `
-- Keeps both keys alive for the grace past lease_end, never pulling an expiry in: a key that
-- expired before one of its members' leases would drop a live slot and let the gate over-admit.
-- known_end is the expiry the book records as set on both (nil when unknown, or when the holders
-- key was just created and has none yet); while it covers the lease, nothing is written. A push
-- goes a slack further, so that leases of one length push once per slack, not on every call.
-- Returns the expiry the book records afterwards.
local function push_expiry(k, at)
  -- GT never shortens an expiry, and leaves a key that has none as it is: that can only be a key
  -- this script has just created, so that one gets its first expiry plainly.
  if redis.call('PEXPIREAT', k, at, 'GT') == 0 and redis.call('PTTL', k) == -1 then
    redis.call('PEXPIREAT', k, at)
  end
end
local function outlive_lease(key, book, lease_end, known_end)
  if known_end and known_end >= lease_end + ${KEY_GRACE_MS} then return known_end end
  local key_end = lease_end + ${KEY_GRACE_MS} + ${KEY_SLACK_MS}
  redis.call('HSET', book, KEY_END, key_end)
  push_expiry(key, key_end)
  push_expiry(book, key_end)
  return key_end
end
`,
  reclaim_ended: `
-- Removes the holders whose lease ended (their holder died or the release never came) with their
-- admissions and units, and returns how many: a leak signal.
local function reclaim_ended(key, book, now_ms)
  local ended = redis.call('ZRANGEBYSCORE', key, '-inf', now_ms)
  for first = 1, #ended, 1000 do
    local last = math.min(first + 999, #ended)
    local values = redis.call('HMGET', book, unpack(ended, first, last))
    for i = first, last do
      drop_holder(key, book, ended[i], values[i - first + 1])
    end
  end
  if #ended > 0 then redis.call('HINCRBY', book, RECLAIMED, #ended) end
  return #ended
end
`,
  units_of: `
-- Units the gate's holders take: one per holder plus the extra of weighted ones.
local function units_of(key, book)
  return redis.call('ZCARD', key) + (tonumber(redis.call('HGET', book, EXTRA_UNITS)) or 0)
end
`,
  parse_waiter: `
-- A waiter's record: '<deadline>:<leaseMs>:<limit>:<perTenant>:<cost>:<attempt>:<tenant>'. The
-- deadline is its heartbeat lease: past it the waiter is taken for dead and leaves the queue.
local function parse_waiter(value)
  if not value then return nil end
  local deadline, lease_ms, limit, per_tenant, cost, attempt, tenant =
    string.match(value, '^(%d+):(%d+):(%d+):(%d+):(%d+):([^:]*):(.*)$')
  return {
    deadline = tonumber(deadline), lease_ms = tonumber(lease_ms), limit = tonumber(limit),
    per_tenant = tonumber(per_tenant), cost = tonumber(cost), attempt = attempt,
    tenant = tenant ~= '' and tenant or false,
  }
end
local function format_waiter(w)
  return string.format('%d:%d:%d:%d:%d:%s:%s', w.deadline, w.lease_ms, w.limit, w.per_tenant,
    w.cost, w.attempt, w.tenant or '')
end
`,
  dequeue: `
-- Takes a waiter out of the queue with its record (the waiter count stays in the book at 0).
local function dequeue(queue, book, holder)
  redis.call('ZREM', queue, holder)
  redis.call('HDEL', book, WAITER .. holder)
  redis.call('HINCRBY', book, QUEUED, -1)
end
`,
  admit_waiters: `
-- Hands free units to the queue in ticket order, and announces the admissions on the gate's
-- channel in one message. A waiter whose heartbeat lease ended is dropped. The first live waiter
-- that does not fit the model's limit stops the walk: nobody behind it may take the units it
-- waits for, so a heavy task at the head is not starved by light ones. A waiter whose tenant is
-- at its share cannot use the model's free units either, so it steps aside without blocking.
-- Returns true when a waiter still blocks newcomers (or the walk ran out of its bound).
local function admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
  local counters = redis.call('HMGET', book, QUEUED, EXTRA_UNITS, KEY_END)
  if (tonumber(counters[1]) or 0) == 0 then return false end
  local units = redis.call('ZCARD', key) + (tonumber(counters[2]) or 0)
  -- Without units held the holders key does not exist: the first admission creates it anew.
  local key_end = units > 0 and tonumber(counters[3]) or nil
  local tenant_units = {}
  local admitted = {}
  local blocked, seen, start = false, 0, 0
  while not blocked do
    local batch = redis.call('ZRANGE', queue, start, start + 15)
    if #batch == 0 then break end
    local gone = 0
    for _, holder in ipairs(batch) do
      if seen >= ${MAX_WAITERS_PER_HANDOFF} then blocked = true break end
      seen = seen + 1
      local w = parse_waiter(redis.call('HGET', book, WAITER .. holder))
      if not w or w.deadline <= now_ms then
        dequeue(queue, book, holder)
        gone = gone + 1
      elseif w.limit ~= 0 and units + w.cost > w.limit then
        blocked = true
        break
      else
        local fits_tenant = true
        if w.tenant then
          tenant_units[w.tenant] = tenant_units[w.tenant]
            or tonumber(redis.call('HGET', book, TENANT_UNITS .. w.tenant)) or 0
          fits_tenant = w.per_tenant == 0 or tenant_units[w.tenant] + w.cost <= w.per_tenant
        end
        if fits_tenant then
          dequeue(queue, book, holder)
          gone = gone + 1
          local expires_at = now_ms + w.lease_ms
          -- A waiter that was admitted meanwhile by a call of its own keeps that admission.
          if redis.call('ZADD', key, 'NX', expires_at, holder) == 1 then
            local token = next_token(book, now_us)
            record_admission(book, holder, token, w.attempt, w.cost, w.tenant, expires_at)
            key_end = outlive_lease(key, book, expires_at, key_end)
            units = units + w.cost
            local tenant_used = 0
            if w.tenant then
              tenant_units[w.tenant] = tenant_units[w.tenant] + w.cost
              tenant_used = tenant_units[w.tenant]
            end
            admitted[#admitted + 1] = { holder, w.attempt, string.format('%d', token),
              string.format('%d', expires_at), units, tenant_used }
          end
        end
      end
    end
    start = start + #batch - gone
  end
  if #admitted > 0 then
    redis.call(publish, channel, cjson.encode(admitted))
  end
  return blocked
end
`,
} as const;

/**
 * The Lua text of the named helpers. A script defines every function it carries each time it
 * runs, so a script with a common path puts that path first, with the constants, the clock and
 * the input check, and the helpers of its other paths after it.
 */
export function luaHelpers(...names: (keyof typeof LUA_HELPERS)[]): string {
  return names.map((name) => LUA_HELPERS[name]).join('');
}
