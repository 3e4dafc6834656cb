/**
 * How long a gate's keys outlive its longest lease, in ms. Within this margin an acquire still
 * finds holders whose leases ended and reports them as `reclaimed` (the leak signal), even when
 * every holder of the gate leaked; past it the keys of an unused gate go away as garbage.
 */
export const KEY_GRACE_MS = 24 * 3600 * 1000;

/**
 * Lua helpers of the gate scripts, one function each, with explicit inputs, so a script reads on
 * its own (`local now_ms, now_us = server_now()`) and carries only the helpers it calls. Pass
 * them to {@link luaHelpers} in the order they depend on each other.
 *
 * A gate is two keys in one hash slot: the sorted set of holders scored by lease end, and a hash
 * of each holder's fencing token (`<token>:<attempt>`) with the gate's last token under the
 * field '' (no task id is empty).
 */
export const LUA_HELPERS = {
  server_now: `
-- The Redis server's clock as (ms, us): every instance measures leases on this one clock.
-- (Redis >= 5 replicates a script's effects, so reading TIME before a write is allowed.)
local function server_now()
  local time = redis.call('TIME')
  local seconds, micros = tonumber(time[1]), tonumber(time[2])
  return seconds * 1000 + math.floor(micros / 1000), seconds * 1000000 + micros
end
`,
  checked_integer: `
-- Fails the script unless value is an integer in [min, max]. Scripts check every input before
-- their first write, so a bad call never leaves half a change behind.
local function checked_integer(value, name, min, max)
  local number = tonumber(value)
  if number == nil or number ~= math.floor(number) or number < min or number > max then
    error({ err = 'ERR queue-gate: ' .. name .. ' must be an integer in [' .. min .. ', ' .. max ..
      '], got ' .. tostring(value) })
  end
  return number
end
`,
  next_token: `
-- The next fencing token of a gate: one more than the last, and never below the server clock in
-- microseconds, so tokens keep increasing even after the gate's keys expired.
local function next_token(tokens, now_us)
  local last = tonumber(redis.call('HGET', tokens, '')) or 0
  return math.max(last + 1, now_us)
end
`,
  record_admission: `
-- Records an admission in one write: the holder's token with the attempt that took it
-- ('<token>:<attempt>'; Lua's own number-to-string would write the token in exponent form),
-- and the gate's last token.
local function record_admission(tokens, holder, token, attempt)
  redis.call('HSET', tokens, holder, string.format('%d:%s', token, attempt), '', token)
end
`,
  parse_token: `
local function parse_token(value)
  if not value then return nil, nil end
  local token, attempt = string.match(value, '^(%d+):(.*)$')
  return tonumber(token), attempt
end
`,
  outlive_lease: `
-- Pushes the expiry of both keys out to lease_end plus the grace, never pulling it in: a key that
-- expired before one of its members' leases would drop a live slot and let the gate over-admit.
local function outlive_lease(key, tokens, lease_end, now_ms)
  local key_end = lease_end + ${KEY_GRACE_MS}
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now_ms + ttl < key_end then
    redis.call('PEXPIREAT', key, key_end)
    redis.call('PEXPIREAT', tokens, key_end)
  end
end
`,
  reclaim_ended: `
-- Removes the holders whose lease ended (their holder died or the release never came) with their
-- tokens, and returns how many: a leak signal.
local function reclaim_ended(key, tokens, now_ms)
  local ended = redis.call('ZRANGEBYSCORE', key, '-inf', now_ms)
  for first = 1, #ended, 1000 do
    local last = math.min(first + 999, #ended)
    redis.call('ZREM', key, unpack(ended, first, last))
    redis.call('HDEL', tokens, unpack(ended, first, last))
  end
  return #ended
end
`,
} as const;

/** The Lua text of the named helpers, for the head of a script. */
export function luaHelpers(...names: (keyof typeof LUA_HELPERS)[]): string {
  return names.map((name) => LUA_HELPERS[name]).join('');
}
