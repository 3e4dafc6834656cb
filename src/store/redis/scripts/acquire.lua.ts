import { MAX_LEASE_MS, MAX_LIMIT } from '../../../core/limits';
import { luaHelpers } from './gate-helpers.lua';

/**
 * Takes one slot of a gate for a holder, or says why not, in one atomic step.
 */
export const ACQUIRE_LUA = `
-- Input:
--   KEYS[1]  the gate: sorted set of holder ids scored by lease end (server ms)
--   KEYS[2]  the gate's tokens: hash of holder id -> '<token>:<attempt>', and '' -> last token
--   ARGV[1]  holder id
--   ARGV[2]  limit; 0 means unlimited (the holder is still recorded, so a later limit sees it)
--   ARGV[3]  lease length in ms
--   ARGV[4]  attempt id: names this call, so that a release can undo it if its answer is lost
--   ARGV[5]  '1' for a retry: a new admission (new token) even when the holder still holds
-- Output:
--   { admitted, alreadyHeld, used, reclaimed, expiresAt, now, token }
--   admitted and alreadyHeld are 0/1; used counts live holders after the call; expiresAt and
--   token are 0 when not admitted.
${luaHelpers('server_now', 'checked_integer', 'next_token', 'record_admission', 'parse_token', 'outlive_lease', 'reclaim_ended')}
local key, tokens = KEYS[1], KEYS[2]
local holder = ARGV[1]
local limit = checked_integer(ARGV[2], 'limit', 0, ${MAX_LIMIT})
local lease_ms = checked_integer(ARGV[3], 'leaseMs', 1, ${MAX_LEASE_MS})
local attempt = ARGV[4]
local renew = ARGV[5] == '1'
local now_ms, now_us = server_now()

-- 1. Reclaim leases that ended.
local reclaimed = reclaim_ended(key, tokens, now_ms)

local expires_at = now_ms + lease_ms
local used = redis.call('ZCARD', key)
local held = false

if limit == 0 or used < limit then
  -- 2a. Room for one more: NX adds a new holder and leaves one that already holds untouched.
  if redis.call('ZADD', key, 'NX', expires_at, holder) == 1 then
    used = used + 1
    local token = next_token(tokens, now_us)
    record_admission(tokens, holder, token, attempt)
    outlive_lease(key, tokens, expires_at, now_ms)
    return { 1, 0, used, reclaimed, expires_at, now_ms, token }
  end
  held = redis.call('ZSCORE', key, holder)
else
  -- 2b. Full: only a holder that already holds is admitted (its one slot).
  held = redis.call('ZSCORE', key, holder)
  if not held then
    return { 0, 0, used, reclaimed, 0, now_ms, 0 }
  end
end

-- 3. A holder that already holds keeps its one slot: refresh the lease, never shorten it.
held = tonumber(held)
if expires_at > held then
  redis.call('ZADD', key, expires_at, holder)
else
  expires_at = held
end

-- 4. Its token stays, unless this is a retry: a new admission, undone by this attempt's id. A
--    holder recorded before tokens existed gets one, which no attempt may undo: this call did
--    not admit it.
local token = parse_token(redis.call('HGET', tokens, holder))
if renew or not token then
  token = next_token(tokens, now_us)
  record_admission(tokens, holder, token, renew and attempt or '')
end

-- 5. The keys must live at least as long as their longest lease.
outlive_lease(key, tokens, expires_at, now_ms)

return { 1, 1, used, reclaimed, expires_at, now_ms, token }
`;
