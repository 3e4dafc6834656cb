import { KEY_GRACE_MS, SERVER_TIME_LUA } from './server-time.lua';

/**
 * Replaces a gate's membership with the holders the application knows to be active (from its
 * database, the source of truth), in one atomic step. Holders that stay keep their leases;
 * new ones get a fresh lease. The result may exceed the limit: then nobody is admitted until
 * enough holders leave.
 *
 * KEYS[1]          the gate
 * ARGV[1]          lease length in ms for added holders
 * ARGV[2]          n, the number of active holder ids that follow
 * ARGV[3..2+n]     the active holder ids (duplicates allowed)
 * ARGV[3+n]        'all': remove every holder not listed as active;
 *                  'listed': remove only the unlisted holders named after it
 * ARGV[4+n..]      with 'listed', the holders that may be removed
 *
 * Reply: { added, removed, used }
 */
export const RECONCILE_LUA = `
local key = KEYS[1]
local leaseMs = tonumber(ARGV[1])
local activeCount = tonumber(ARGV[2])
local mode = ARGV[3 + activeCount]
${SERVER_TIME_LUA}
-- 1. Drop ended leases first, so that an active holder whose lease ended is added afresh.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)

-- 2. The wanted and removable sets, built by looping (unpack would overflow the Lua stack).
local wanted = {}
for i = 3, 2 + activeCount do
  wanted[ARGV[i]] = true
end
local removable = nil
if mode == 'listed' then
  removable = {}
  for i = 4 + activeCount, #ARGV do
    removable[ARGV[i]] = true
  end
end

-- 3. Remove the holders the application does not know (and, in 'listed' mode, named).
local removed = 0
local members = redis.call('ZRANGE', key, 0, -1)
for _, holder in ipairs(members) do
  if wanted[holder] then
    wanted[holder] = 'kept'
  elseif removable == nil or removable[holder] then
    redis.call('ZREM', key, holder)
    removed = removed + 1
  end
end

-- 4. Add the active holders the gate lost.
local added = 0
local expiresAt = now + leaseMs
for holder, state in pairs(wanted) do
  if state == true then
    redis.call('ZADD', key, expiresAt, holder)
    added = added + 1
  end
end

-- 5. The key must outlive its longest lease (kept leases may be longer than new ones), by the
--    grace in which a later acquire still reports leases that ended as reclaimed.
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', key, tonumber(last[2]) + ${KEY_GRACE_MS})
end

return { added, removed, redis.call('ZCARD', key) }
`;
