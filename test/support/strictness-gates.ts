import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import type { CheckedGate } from './strictness-checker';

/** The gate under test: QueueGate on the Redis store, as each application instance has it. */
export function strictGate(
  client: Redis | Cluster,
  prefix: string,
  model: string,
  limit: number,
): CheckedGate {
  // A generous deadline: on a loaded machine a slow answer is not what this test measures.
  const gate = new QueueGate(new RedisGateStore(client, prefix), {
    defaultLimit: limit,
    commandTimeoutMs: 15_000,
  });
  return {
    async tryAcquire() {
      const { acquired, taskId } = await gate.acquire(model);
      return acquired ? taskId : null;
    },
    async release(holder) {
      await gate.release(model, holder);
    },
  };
}

/**
 * The negative control: counting rows, then inserting, in two
 * round trips. The pause between them stands for the work a request does in that window and
 * makes the race show up reliably.
 */
export function naiveGate(
  client: Redis | Cluster,
  key: string,
  limit: number,
  gapMs = 2,
): CheckedGate {
  return {
    async tryAcquire() {
      const used = await client.zcard(key);
      if (used >= limit) return null;
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      const holder = randomUUID();
      await client.zadd(key, Date.now() + 60_000, holder);
      return holder;
    },
    async release(holder) {
      await client.zrem(key, holder);
    },
  };
}
