/**
 * The scripts of a plain Lua gate: clean, count, compare, add, and
 * set the key's TTL from this task's lease; release by ZREM.
 */
export const EVAL_PER_CALL_ACQUIRE_LUA = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expireAt = tonumber(ARGV[3])
local member = ARGV[4]
local keyTTL = tonumber(ARGV[5])

redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
local current = tonumber(redis.call("ZCARD", key) or "0")
if current >= limit then
  return 0
end

redis.call("ZADD", key, expireAt, member)
redis.call("EXPIRE", key, keyTTL)
return 1
`;

export const EVAL_PER_CALL_RELEASE_LUA = `
local key = KEYS[1]
local member = ARGV[1]
redis.call("ZREM", key, member)
return 1
`;

/** Its key prefix: `asynch:qgate:<model>`, with no hash tag. */
export const EVAL_PER_CALL_KEY_PREFIX = 'asynch:qgate:';
