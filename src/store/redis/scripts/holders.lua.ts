import { luaHelpers } from './gate-helpers.lua';

/**
 * Lists live holders with their lease ends and tokens, soonest end first. Reads only.
 */
export const HOLDERS_LUA = `
-- Input:
--   KEYS[1]  the gate: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's tokens: hash of holder id -> '<token>:<attempt>'
-- Output:
--   { now, { holder1, expiresAt1, token1, holder2, expiresAt2, token2, ... } }
--   a token is 0 for a holder that has none (recorded before tokens existed)
${luaHelpers('server_now', 'parse_token')}
local key, tokens = KEYS[1], KEYS[2]
local now_ms = server_now()

-- 1. Live means a lease end strictly after now.
local scored = redis.call('ZRANGEBYSCORE', key, string.format('(%d', now_ms), '+inf', 'WITHSCORES')

-- 2. Each holder with its token.
local listed = {}
for i = 1, #scored, 2 do
  local holder = scored[i]
  listed[#listed + 1] = holder
  listed[#listed + 1] = scored[i + 1]
  listed[#listed + 1] = parse_token(redis.call('HGET', tokens, holder)) or 0
end

return { now_ms, listed }
`;
