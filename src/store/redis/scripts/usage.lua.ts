import { luaHelpers } from './gate-helpers.lua';

/**
 * Counts a gate's live holders, the units they take, its waiters and, optionally, one tenant's
 * units, ignoring leases that ended but were not reclaimed yet. Reads only.
 */
export const USAGE_LUA = `
-- Input:
--   KEYS[1]  the gate's holders: sorted set of holder ids scored by lease end
--   KEYS[2]  the gate's book: admissions, counters and waiters
--   ARGV[1]  a tenant whose units to count, or ''
-- Output:
--   { used, now, holders, waiting, tenantUsed }
--   used counts units; tenantUsed is 0 without a tenant
${luaHelpers('book_fields', 'server_now', 'parse_admission')}
local key, book = KEYS[1], KEYS[2]
local tenant = ARGV[1]
local now_ms = server_now()

-- 1. The counters, as recorded: they still include leases that ended and were not reclaimed.
local fields = redis.call('HMGET', book, EXTRA_UNITS, QUEUED, TENANT_UNITS .. tenant)
local extra = tonumber(fields[1]) or 0
local tenant_used = tenant ~= '' and (tonumber(fields[3]) or 0) or 0

-- 2. Leave out the leases that ended (rare: a release that never came).
for _, holder in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', now_ms)) do
  local _, _, cost, owner = parse_admission(redis.call('HGET', book, holder))
  if cost then
    extra = extra - (cost - 1)
    if owner and owner == tenant then tenant_used = tenant_used - cost end
  end
end

-- 3. Live means a lease end strictly after now.
local holders = redis.call('ZCOUNT', key, string.format('(%d', now_ms), '+inf')

return { holders + extra, now_ms, holders, tonumber(fields[2]) or 0, tenant_used }
`;
