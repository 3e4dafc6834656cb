import { MAX_LEASE_MS } from '../../../core/limits';
import { luaHelpers } from './gate-helpers.lua';

/**
 * Renews a live lease. A lease that already ended is reported lost and is not brought back:
 * another caller may already have counted its slot as free.
 */
export const EXTEND_LUA = `
-- Input:
--   KEYS[1]  the gate: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: holder id -> its admission ('<token>:<attempt>...')
--   ARGV[1]  holder id
--   ARGV[2]  lease length in ms, from now
--   ARGV[3]  the token the caller holds, or '' for an unfenced renewal
-- Output:
--   { extended, expiresAt, now, stale, currentToken }
--   extended is 0/1; expiresAt is 0 when not extended; stale is 1 when the holder now holds a
--   newer admission than the caller's token (nothing changed).
${luaHelpers('book_fields', 'server_now', 'checked_integer', 'parse_admission', 'count_units', 'drop_holder', 'outlive_lease')}
local key, book = KEYS[1], KEYS[2]
local holder = ARGV[1]
local lease_ms = checked_integer(ARGV[2], 'leaseMs', 1, ${MAX_LEASE_MS})
local fenced_to = ARGV[3]
local now_ms = server_now()

-- 1. No such holder: released, reclaimed, or never there.
local held = redis.call('ZSCORE', key, holder)
if not held then
  return { 0, 0, now_ms, 0, 0 }
end

-- 2. A caller whose admission was replaced (a retry took a new token) renews nothing. The same
--    read gets the expiry the keys were given.
local fields = redis.call('HMGET', book, holder, KEY_END)
local value = fields[1]
local token = parse_admission(value)
if fenced_to ~= '' and token ~= tonumber(fenced_to) then
  return { 0, 0, now_ms, 1, token or 0 }
end

-- 3. The lease ended but was not reclaimed yet: drop it rather than resurrect it.
held = tonumber(held)
if held <= now_ms then
  drop_holder(key, book, holder, value)
  return { 0, 0, now_ms, 0, 0 }
end

-- 4. Renew from now, never shortening the lease.
local expires_at = now_ms + lease_ms
if expires_at > held then
  redis.call('ZADD', key, expires_at, holder)
else
  expires_at = held
end

-- 5. The keys must live at least as long as the renewed lease.
outlive_lease(key, book, expires_at, tonumber(fields[2]))

return { 1, expires_at, now_ms, 0, token or 0 }
`;
