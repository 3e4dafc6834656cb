import { startRedisServer, type RedisServer } from './redis-server';
import { TEST_REDIS_URL_VARIABLE } from './test-redis';

/**
 * Starts one private redis-server for the whole run (or uses REDIS_URL when set) and hands its
 * address to the test workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env[TEST_REDIS_URL_VARIABLE] = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  (globalThis as { __queueGateRedis?: RedisServer }).__queueGateRedis = server;
  process.env[TEST_REDIS_URL_VARIABLE] = server.url;
}
