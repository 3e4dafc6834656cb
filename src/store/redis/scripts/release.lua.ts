import { luaHelpers } from './gate-helpers.lua';

/**
 * Gives a holder's units back, optionally fenced: only when the holder still holds the admission
 * named by a token, or the admission taken by one acquire attempt. Freed units go to the queue.
 */
export const RELEASE_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: admissions, counters and waiters
--   KEYS[3]  the gate's queue: sorted set of waiting holder ids scored by ticket
--   ARGV[1]  holder id
--   ARGV[2]  fence: '' (none), 'token' or 'attempt'
--   ARGV[3]  the token or attempt id the release is fenced to
--   ARGV[4]  the channel that announces admissions handed to waiters
--   ARGV[5]  the command that announces them: 'PUBLISH' or 'SPUBLISH'
-- Output:
--   { released, stale, currentToken }
--   released is 1 when the holder was removed; stale is 1 when a fence did not match the
--   holder's current admission (then nothing changed and currentToken names that admission).
${luaHelpers('book_fields', 'server_now', 'next_token', 'parse_admission', 'count_units', 'record_admission', 'drop_holder', 'outlive_lease', 'units_of', 'parse_waiter', 'dequeue', 'admit_waiters')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local holder, fence, fenced_to = ARGV[1], ARGV[2], ARGV[3]
local channel, publish = ARGV[4], ARGV[5]

-- 1. One read: the holder's admission, and whether anyone waits.
local fields = redis.call('HMGET', book, holder, QUEUED)
local value = fields[1]

-- 2. A fenced release leaves a newer admission of the same holder alone. (A holder and its
--    admission are always written and removed together, so an admission means it holds.)
if fence ~= '' then
  local token, attempt = parse_admission(value)
  if not token then
    return { 0, 0, 0 }
  end
  local matches = (fence == 'token' and token == tonumber(fenced_to))
    or (fence == 'attempt' and attempt == fenced_to)
  if not matches then
    return { 0, 1, token }
  end
end

-- 3. Remove the holder with its admission and units (idempotent).
local released = drop_holder(key, book, holder, value)

-- 4. The freed units go to the queue, in order.
if released == 1 and (tonumber(fields[2]) or 0) > 0 then
  local now_ms, now_us = server_now()
  admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
end

return { released, 0, 0 }
`;
