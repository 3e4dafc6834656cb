/**
 * Gives a holder's slot back. Idempotent: releasing twice, or releasing an unknown holder,
 * changes nothing and says so.
 *
 * KEYS[1]  the gate
 * ARGV[1]  holder id
 *
 * Reply: { released }  1 when the holder was recorded and is now removed, else 0
 */
export const RELEASE_LUA = `
local key = KEYS[1]
local holder = ARGV[1]

-- 1. Remove the holder; ZREM reports whether it was there.
local released = redis.call('ZREM', key, holder)

return { released }
`;
