import { OUTLIVE_LEASE_LUA, SERVER_TIME_LUA } from './server-time.lua';

/**
 * Takes one slot of a gate for a holder, or says why not — in one atomic step.
 *
 * KEYS[1]  the gate: a sorted set of holder ids scored by lease end (server ms)
 * ARGV[1]  holder id
 * ARGV[2]  limit; 0 means unlimited (the holder is still recorded, so a later limit sees it)
 * ARGV[3]  lease length in ms
 *
 * Reply: { admitted, alreadyHeld, used, reclaimed, expiresAt, now }
 *   admitted and alreadyHeld are 0/1; used counts live holders after the call;
 *   expiresAt is 0 when not admitted.
 */
export const ACQUIRE_LUA = `
local key = KEYS[1]
local holder = ARGV[1]
local limit = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
${SERVER_TIME_LUA}${OUTLIVE_LEASE_LUA}
-- 1. Reclaim leases that ended: their holders died or their release never came.
local reclaimed = redis.call('ZREMRANGEBYSCORE', key, '-inf', now)

local expiresAt = now + leaseMs
local used = redis.call('ZCARD', key)
local held = false

if limit <= 0 or used < limit then
  -- 2a. Room for one more: NX adds a new holder and leaves one that already holds untouched.
  if redis.call('ZADD', key, 'NX', expiresAt, holder) == 1 then
    used = used + 1
  else
    held = redis.call('ZSCORE', key, holder)
  end
else
  -- 2b. Full: only a holder that already holds is admitted (its one slot).
  held = redis.call('ZSCORE', key, holder)
  if not held then
    return { 0, 0, used, reclaimed, 0, now }
  end
end

if held then
  -- 2c. A holder that already holds keeps its one slot: refresh the lease, never shorten it.
  held = tonumber(held)
  if expiresAt > held then
    redis.call('ZADD', key, expiresAt, holder)
  else
    expiresAt = held
  end
end

-- 3. The key must live at least as long as its longest lease.
outliveLease(key, expiresAt)

return { 1, held and 1 or 0, used, reclaimed, expiresAt, now }
`;
