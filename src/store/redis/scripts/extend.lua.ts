import { OUTLIVE_LEASE_LUA, SERVER_TIME_LUA } from './server-time.lua';

/**
 * Renews a live lease. A lease that already ended is reported lost and is not brought back:
 * another caller may already have counted its slot as free.
 *
 * KEYS[1]  the gate
 * ARGV[1]  holder id
 * ARGV[2]  lease length in ms, from now
 *
 * Reply: { extended, expiresAt, now }  extended is 0/1; expiresAt is 0 when lost
 */
export const EXTEND_LUA = `
local key = KEYS[1]
local holder = ARGV[1]
local leaseMs = tonumber(ARGV[2])
${SERVER_TIME_LUA}${OUTLIVE_LEASE_LUA}
-- 1. No such holder: released, reclaimed, or never there.
local held = redis.call('ZSCORE', key, holder)
if not held then
  return { 0, 0, now }
end

-- 2. The lease ended but was not reclaimed yet: drop it rather than resurrect it.
held = tonumber(held)
if held <= now then
  redis.call('ZREM', key, holder)
  return { 0, 0, now }
end

-- 3. Renew from now, never shortening the lease.
local expiresAt = now + leaseMs
if expiresAt > held then
  redis.call('ZADD', key, expiresAt, holder)
else
  expiresAt = held
end

-- 4. The key must live at least as long as the renewed lease.
outliveLease(key, expiresAt)

return { 1, expiresAt, now }
`;
