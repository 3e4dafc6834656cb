import { SERVER_TIME_LUA } from './server-time.lua';

/**
 * Counts live holders, ignoring leases that ended but were not reclaimed yet. Reads only.
 *
 * KEYS[1]  the gate
 *
 * Reply: { used, now }
 */
export const USAGE_LUA = `
local key = KEYS[1]
${SERVER_TIME_LUA}
-- 1. Live means a lease end strictly after now.
local used = redis.call('ZCOUNT', key, string.format('(%d', now), '+inf')

return { used, now }
`;
