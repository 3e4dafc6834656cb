import type { RedisServer } from './redis-server';

/** Stops the redis-server that the global setup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __queueGateRedis?: RedisServer }).__queueGateRedis?.stop();
}
