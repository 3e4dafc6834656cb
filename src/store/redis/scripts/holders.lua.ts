import { SERVER_TIME_LUA } from './server-time.lua';

/**
 * Lists live holders with their lease ends, soonest first. Reads only.
 *
 * KEYS[1]  the gate
 *
 * Reply: { now, { holder1, expiresAt1, holder2, expiresAt2, ... } }
 */
export const HOLDERS_LUA = `
local key = KEYS[1]
${SERVER_TIME_LUA}
-- 1. Live means a lease end strictly after now.
local holders = redis.call('ZRANGEBYSCORE', key, string.format('(%d', now), '+inf', 'WITHSCORES')

return { now, holders }
`;
