import { luaHelpers } from './gate-helpers.lua';

/**
 * Takes a waiter out of the queue (its deadline passed, it was aborted, its client left), or
 * says that it was admitted before it could leave.
 */
export const LEAVE_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: admissions, counters and waiters
--   KEYS[3]  the gate's queue: sorted set of waiting holder ids scored by ticket
--   ARGV[1]  holder id
--   ARGV[2]  attempt id of the waiting call
--   ARGV[3]  the channel that announces admissions handed to waiters
--   ARGV[4]  the command that announces them: 'PUBLISH' or 'SPUBLISH'
-- Output:
--   { state, a, b, c }, as the heartbeat reports a waiter:
--   state 1 = it was queued and has left: a is the place it had (1 = next);
--   state 2 = admitted by that attempt: a is its token, b its lease end, c the units used;
--   state 0 = gone: neither queued nor holding by that attempt.
${luaHelpers('book_fields', 'server_now', 'next_token', 'parse_admission', 'count_units', 'format_admission', 'record_admission', 'drop_holder', 'outlive_lease', 'units_of', 'parse_waiter', 'dequeue', 'admit_waiters')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local holder, attempt = ARGV[1], ARGV[2]
local channel, publish = ARGV[3], ARGV[4]

-- 1. Still queued by this call: leave, and let the waiters behind have what it was waiting for
--    (a heavy waiter at the head may have been holding them back).
local w = parse_waiter(redis.call('HGET', book, WAITER .. holder))
if w and w.attempt == attempt then
  local place = redis.call('ZRANK', queue, holder) + 1
  dequeue(queue, book, holder)
  local now_ms, now_us = server_now()
  admit_waiters(key, book, queue, channel, publish, now_ms, now_us)
  return { 1, place, 0, 0 }
end

-- 2. Admitted by this call before it could leave.
local token, admitted_by = parse_admission(redis.call('HGET', book, holder))
if token and admitted_by == attempt then
  return { 2, string.format('%d', token), tonumber(redis.call('ZSCORE', key, holder)),
    units_of(key, book) }
end

return { 0, 0, 0, 0 }
`;
