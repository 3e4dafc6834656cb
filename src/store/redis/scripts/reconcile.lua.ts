import { MAX_LEASE_MS } from '../../../core/limits';
import { KEY_GRACE_MS, luaHelpers } from './gate-helpers.lua';

/**
 * Replaces a gate's membership with the holders the application knows to be active (from its
 * database, the source of truth), in one atomic step. Holders that stay keep their leases and
 * tokens; new ones get a fresh lease and token. Holders bound to a request (their id starts with
 * the spared prefix) are never removed: no database lists them. The result may exceed the limit:
 * then nobody is admitted until enough holders leave.
 */
export const RECONCILE_LUA = `
-- Input:
--   KEYS[1]          the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]          the gate's book: admissions, counters and waiters
--   KEYS[3]          the gate's queue: sorted set of waiting holder ids scored by ticket
--   ARGV[1]          the channel that announces admissions handed to waiters
--   ARGV[2]          the command that announces them: 'PUBLISH' or 'SPUBLISH'
--   ARGV[3]          lease length in ms for added holders
--   ARGV[4]          prefix of holder ids that are never removed ('' for none)
--   ARGV[5]          n, the number of active holder ids that follow
--   ARGV[6..5+n]     the active holder ids (duplicates allowed)
--   ARGV[6+n]        'all': remove every holder not listed as active;
--                    'listed': remove only the unlisted holders named after it
--   ARGV[7+n..]      with 'listed', pairs of (holder id, token): the holder is removed only while
--                    it holds that token ('' for any token)
-- Output:
--   { added, removed, used }
--   used counts units; added holders take one unit each and no tenant
${luaHelpers('book_fields', 'server_now', 'checked_integer', 'next_token', 'parse_admission', 'count_units', 'format_admission', 'record_admission', 'drop_holder', 'outlive_lease', 'reclaim_ended', 'units_of', 'parse_waiter', 'dequeue', 'admit_waiters')}
local key, book, queue = KEYS[1], KEYS[2], KEYS[3]
local channel, publish = ARGV[1], ARGV[2]
local lease_ms = checked_integer(ARGV[3], 'leaseMs', 1, ${MAX_LEASE_MS})
local spared = ARGV[4]
local active_count = checked_integer(ARGV[5], 'active count', 0, #ARGV - 6)
local mode = ARGV[6 + active_count]
local now_ms, now_us = server_now()

-- 1. Drop ended leases first, so that an active holder whose lease ended is added afresh.
reclaim_ended(key, book, now_ms)

-- 2. The wanted and removable sets, built by looping (unpack would overflow the Lua stack).
local wanted = {}
for i = 6, 5 + active_count do
  wanted[ARGV[i]] = true
end
local removable = nil
if mode == 'listed' then
  removable = {}
  for i = 7 + active_count, #ARGV, 2 do
    removable[ARGV[i]] = ARGV[i + 1] or ''
  end
end

-- 3. Remove the holders the application does not know: in 'listed' mode only those named, and
--    only while they hold the named admission.
local function may_remove(holder)
  if spared ~= '' and string.sub(holder, 1, #spared) == spared then return false end
  if removable == nil then return true end
  local named = removable[holder]
  if named == nil then return false end
  return named == '' or parse_admission(redis.call('HGET', book, holder)) == tonumber(named)
end
local removed = 0
for _, holder in ipairs(redis.call('ZRANGE', key, 0, -1)) do
  if wanted[holder] then
    wanted[holder] = 'kept'
  elseif may_remove(holder) then
    drop_holder(key, book, holder, redis.call('HGET', book, holder))
    removed = removed + 1
  end
end

-- 4. Add the active holders the gate lost, each a new admission with its own token.
local added = 0
local expires_at = now_ms + lease_ms
for holder, state in pairs(wanted) do
  if state == true then
    redis.call('ZADD', key, expires_at, holder)
    record_admission(book, holder, next_token(book, now_us), '', 1, false, expires_at)
    added = added + 1
  end
end

-- 5. The keys must outlive their longest lease (kept leases may be longer than new ones), by the
--    grace in which a later acquire still reports leases that ended as reclaimed. This may pull
--    the expiry in (the longest lease may be gone), so the book's record of it is rewritten: a
--    record above the real expiry would let a later acquire skip a push it needs.
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] then
  local key_end = tonumber(last[2]) + ${KEY_GRACE_MS}
  redis.call('HSET', book, KEY_END, key_end)
  redis.call('PEXPIREAT', key, key_end)
  redis.call('PEXPIREAT', book, key_end)
end

-- 6. Units the reconcile freed go to the queue, in order.
admit_waiters(key, book, queue, channel, publish, now_ms, now_us)

return { added, removed, units_of(key, book) }
`;
