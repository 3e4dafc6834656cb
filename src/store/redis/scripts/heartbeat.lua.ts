import { MAX_LEASE_MS } from '../../../core/limits';
import { KEY_GRACE_MS, luaHelpers } from './gate-helpers.lua';

/**
 * Renews the places of one instance's waiters on a gate and reports each one's state. It also
 * reclaims ended leases and hands free units to the queue, so a dead waiter at the head, a lease
 * that ended or an announcement that was lost delays the queue by one heartbeat at most.
 */
export const HEARTBEAT_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: admissions, counters and waiters
--   KEYS[3]  the gate's queue: sorted set of waiting holder ids scored by ticket
--   ARGV[1]  waiter lease in ms: each waiter named must renew its place within this
--   ARGV[2]  the channel that announces admissions handed to waiters
--   ARGV[3]  the command that announces them: 'PUBLISH' or 'SPUBLISH'
--   ARGV[4..] pairs of (holder id, attempt id): the waiters to renew
-- Output:
--   { state1, a1, b1, c1, state2, ... }, four numbers per waiter named:
--   state 1 = queued: a is its place (1 = next);
--   state 2 = admitted by that attempt: a is its token, b its lease end, c the units used;
--   state 0 = gone: neither queued nor holding by that attempt (its place lapsed).
${luaHelpers('book_fields', 'server_now', 'checked_integer', 'next_token', 'parse_admission', 'count_units', 'format_admission', 'record_admission', 'drop_holder', 'outlive_lease', 'reclaim_ended', 'units_of', 'parse_waiter', 'dequeue', 'admit_waiters')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local waiter_lease_ms = checked_integer(ARGV[1], 'waiterLeaseMs', 1, ${MAX_LEASE_MS})
local channel, publish = ARGV[2], ARGV[3]
local now_ms, now_us = server_now()

-- 1. Units of ended leases and of waiters that stopped renewing go to the queue.
reclaim_ended(key, book, now_ms)
admit_waiters(key, book, queue, channel, publish, now_ms, now_us)

-- 2. Each waiter named: renew its place, or say it was admitted, or gone.
local states = {}
local function report(state, a, b, c)
  states[#states + 1] = state
  states[#states + 1] = a
  states[#states + 1] = b
  states[#states + 1] = c
end
for i = 4, #ARGV, 2 do
  local holder, attempt = ARGV[i], ARGV[i + 1]
  local w = parse_waiter(redis.call('HGET', book, WAITER .. holder))
  if w and w.attempt == attempt then
    w.deadline = now_ms + waiter_lease_ms
    redis.call('HSET', book, WAITER .. holder, format_waiter(w))
    report(1, redis.call('ZRANK', queue, holder) + 1, 0, 0)
  else
    local token, admitted_by = parse_admission(redis.call('HGET', book, holder))
    if token and admitted_by == attempt then
      report(2, string.format('%d', token), tonumber(redis.call('ZSCORE', key, holder)),
        units_of(key, book))
    else
      report(0, 0, 0, 0)
    end
  end
end

-- 3. The queue and the book outlive every renewed place.
local counters = redis.call('HMGET', book, QUEUED, KEY_END)
if (tonumber(counters[1]) or 0) > 0 then
  redis.call('PEXPIREAT', queue, now_ms + waiter_lease_ms + ${KEY_GRACE_MS})
  outlive_lease(key, book, now_ms + waiter_lease_ms, tonumber(counters[2]))
end

return states
`;
