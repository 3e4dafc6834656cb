import { luaHelpers } from './gate-helpers.lua';

/**
 * Lists live holders with their lease ends, tokens, costs and tenants, soonest end first. Reads
 * only.
 */
export const HOLDERS_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: holder id -> its admission
-- Output:
--   { now, { holder1, expiresAt1, token1, cost1, tenant1, holder2, ... } }
--   a token is 0 for a holder that has none (recorded before tokens existed); a tenant is ''
--   for none
${luaHelpers('parse_admission')}
local key, book = KEYS[1], KEYS[2]
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- 1. Live means a lease end strictly after now.
local scored = redis.call('ZRANGEBYSCORE', key, string.format('(%d', now_ms), '+inf', 'WITHSCORES')

-- 2. Each holder with its admission.
local listed = {}
for i = 1, #scored, 2 do
  local holder = scored[i]
  local token, _, cost, tenant = parse_admission(redis.call('HGET', book, holder))
  listed[#listed + 1] = holder
  listed[#listed + 1] = scored[i + 1]
  listed[#listed + 1] = token and string.format('%d', token) or '0'
  listed[#listed + 1] = cost or 1
  listed[#listed + 1] = tenant or ''
end

return { now_ms, listed }
`;
