import { luaHelpers } from './gate-helpers.lua';

/**
 * Counts live holders, ignoring leases that ended but were not reclaimed yet. Reads only.
 */
export const USAGE_LUA = `
-- Input:
--   KEYS[1]  the gate: sorted set of holder ids scored by lease end
-- Output:
--   { used, now }
${luaHelpers('server_now')}
local key = KEYS[1]
local now_ms = server_now()

-- 1. Live means a lease end strictly after now.
local used = redis.call('ZCOUNT', key, string.format('(%d', now_ms), '+inf')

return { used, now_ms }
`;
