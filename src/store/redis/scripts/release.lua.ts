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
--   holder's current admission (then its slot stayed and currentToken names that admission).
--   A release fenced to an attempt also takes that call's place in the queue, if it has one.
--   The common path answers a release that matched with released alone, one integer (Redis
--   builds an array reply at a cost of its own).
${luaHelpers('book_fields')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local holder, fence, fenced_to = ARGV[1], ARGV[2], ARGV[3]
local channel, publish = ARGV[4], ARGV[5]

-- 1. One read: the holder's admission, and whether anyone waits.
local fields = redis.call('HMGET', book, holder, QUEUED)
local value, queued = fields[1], tonumber(fields[2]) or 0

-- 2. The common case, first and alone: nobody waits and the admission is a plain one
--    ('<token>:<attempt>', cost 1, no tenant), so there are no units to count and nobody to hand
--    them to. A fenced release leaves a newer admission of the same holder alone.
if queued == 0 and value then
  local token, attempt, rest = string.match(value, '^(%d+):([^:]*)(.*)$')
  if rest == '' then
    if fence == '' or (fence == 'token' and tonumber(token) == tonumber(fenced_to))
      or (fence == 'attempt' and attempt == fenced_to) then
      local released = redis.call('ZREM', key, holder)
      redis.call('HDEL', book, holder)
      return released
    end
    return { 0, 1, tonumber(token) }
  end
end

-- The full path: a weighted or tenant's admission, waiters, or no admission at all.
${luaHelpers('server_now', 'next_token', 'parse_admission', 'count_units', 'format_admission', 'record_admission', 'drop_holder', 'outlive_lease', 'parse_waiter', 'dequeue', 'admit_waiters')}

-- 3. A release fenced to an attempt undoes that acquire whatever it became: if the call is
--    still queued (its answer was lost before it could wait), its place goes, or a slot handed
--    to it later would have no one to give it back.
local left_queue = false
if fence == 'attempt' and queued > 0 then
  local w = parse_waiter(redis.call('HGET', book, WAITER .. holder))
  if w and w.attempt == fenced_to then
    dequeue(queue, book, holder)
    left_queue = true
  end
end

-- 4. A fenced release leaves a newer admission of the same holder alone. (A holder and its
--    admission are always written and removed together, so an admission means it holds.)
local released, stale, current = 0, 0, 0
if fence == '' then
  released = drop_holder(key, book, holder, value)
else
  local token, attempt = parse_admission(value)
  if token then
    local matches = (fence == 'token' and token == tonumber(fenced_to))
      or (fence == 'attempt' and attempt == fenced_to)
    if matches then
      released = drop_holder(key, book, holder, value)
    else
      stale, current = 1, token
    end
  end
end

-- 5. Freed units, or a place that held others back, go to the queue, in order.
if (released == 1 or left_queue) and queued > 0 then
  local now_ms, now_us = server_now()
  admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
end

return { released, stale, current }
`;
