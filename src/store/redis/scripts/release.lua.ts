import { luaHelpers } from './gate-helpers.lua';

/**
 * Gives a holder's slot back, optionally fenced: only when the holder still holds the admission
 * named by a token, or the admission taken by one acquire attempt.
 */
export const RELEASE_LUA = `
-- Input:
--   KEYS[1]  the gate: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's tokens: hash of holder id -> '<token>:<attempt>'
--   ARGV[1]  holder id
--   ARGV[2]  fence: '' (none), 'token' or 'attempt'
--   ARGV[3]  the token or attempt id the release is fenced to
-- Output:
--   { released, stale, currentToken }
--   released is 1 when the holder was removed; stale is 1 when a fence did not match the
--   holder's current admission (then nothing changed and currentToken names that admission).
${luaHelpers('parse_token')}
local key, tokens = KEYS[1], KEYS[2]
local holder, fence, fenced_to = ARGV[1], ARGV[2], ARGV[3]

-- 1. A fenced release leaves a newer admission of the same holder alone. (A holder and its
--    token are always written and removed together, so a token means the holder is there.)
if fence ~= '' then
  local token, attempt = parse_token(redis.call('HGET', tokens, holder))
  if not token then
    return { 0, 0, 0 }
  end
  local matches = (fence == 'token' and token == tonumber(fenced_to))
    or (fence == 'attempt' and attempt == fenced_to)
  if not matches then
    return { 0, 1, token }
  end
end

-- 2. Remove the holder and its token together (idempotent).
local released = redis.call('ZREM', key, holder)
redis.call('HDEL', tokens, holder)

return { released, 0, 0 }
`;
