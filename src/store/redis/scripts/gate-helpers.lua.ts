/**
 * Lua prelude shared by the scripts that need "now": the Redis server's clock in ms. Every
 * instance of the application then measures leases on one clock, whatever its own says.
 * (Redis >= 5 replicates a script's effects, not the script, so reading TIME before a write
 * is allowed and replicas see the same scores.)
 */
export const SERVER_TIME_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * How long a gate's key outlives its longest lease, in ms. Within this margin an acquire still
 * finds holders whose leases ended and reports them as `reclaimed` (the leak signal), even when
 * every holder of the gate leaked; past it the key of an unused gate goes away as garbage.
 */
export const KEY_GRACE_MS = 24 * 3600 * 1000;

/**
 * Lua prelude that defines `outliveLease(key, expiresAt)`: pushes the key's expiry out to
 * `expiresAt` plus the grace when it would otherwise end earlier, and never pulls it in. A key
 * that expired before one of its members' leases would drop a live slot and let the gate
 * over-admit.
 */
export const OUTLIVE_LEASE_LUA = `
local function outliveLease(key, expiresAt)
  local keyEnd = expiresAt + ${KEY_GRACE_MS}
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < keyEnd then
    redis.call('PEXPIREAT', key, keyEnd)
  end
end
`;
