import { luaHelpers } from './gate-helpers.lua';

/**
 * Reads one gate's state for a snapshot: units and holders that are live, its waiters, the
 * soonest and latest live lease ends, the holders whose lease ended but were not reclaimed
 * yet, and how many were reclaimed since the gate's book was made. Answers nothing when the key is no gate's holders (gone since the scan found it, or a
 * key of another kind). Reads only.
 */
export const SNAPSHOT_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: admissions, counters and waiters
-- Output:
--   {} when KEYS[1] is not a sorted set
--   { now, used, holders, waiting, soonestLeaseEnd, latestLeaseEnd, ended, reclaimed }
--   lease ends are -1 without live holders
${luaHelpers('book_fields', 'server_now', 'parse_admission')}
local key, book = KEYS[1], KEYS[2]

-- 1. Only a sorted set is a gate's holders: anything else (or nothing) is no gate.
if redis.call('TYPE', key).ok ~= 'zset' then return {} end
local now_ms = server_now()

-- 2. The counters, as recorded: they still include leases that ended and were not reclaimed.
local fields = redis.call('HMGET', book, EXTRA_UNITS, QUEUED, RECLAIMED)
local extra = tonumber(fields[1]) or 0

-- 3. Leave out the leases that ended (rare: a release that never came), counting them.
local ended = redis.call('ZRANGEBYSCORE', key, '-inf', now_ms)
for _, holder in ipairs(ended) do
  local _, _, cost = parse_admission(redis.call('HGET', book, holder))
  if cost then extra = extra - (cost - 1) end
end

-- 4. Live means a lease end strictly after now; the first and last of them by lease end.
local live_from = string.format('(%d', now_ms)
local holders = redis.call('ZCOUNT', key, live_from, '+inf')
local soonest, latest = -1, -1
if holders > 0 then
  soonest = tonumber(redis.call('ZRANGEBYSCORE', key, live_from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)[2])
  latest = tonumber(redis.call('ZREVRANGEBYSCORE', key, '+inf', live_from, 'WITHSCORES', 'LIMIT', 0, 1)[2])
end

return { now_ms, holders + extra, holders, tonumber(fields[2]) or 0, soonest, latest, #ended,
  tonumber(fields[3]) or 0 }
`;
