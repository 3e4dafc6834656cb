import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** Environment variable through which the global setup passes the test Redis URL. */
export const TEST_REDIS_URL_VARIABLE = 'QUEUE_GATE_TEST_REDIS_URL';

/** The URL of the run's Redis (private, or REDIS_URL). */
export function testRedisUrl(): string {
  const url = process.env[TEST_REDIS_URL_VARIABLE];
  if (!url) throw new Error(`${TEST_REDIS_URL_VARIABLE} is not set: run the tests through jest`);
  return url;
}

/** A key prefix no other test uses, so tests never touch each other's keys. */
export function uniquePrefix(label = 'test'): string {
  return `qgate-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** A client of the run's Redis (or of `url`); close it with {@link closeClient}. */
export function newRedis(url = testRedisUrl()): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Deletes the keys under `prefix` (only those: the server may be shared) and closes the client. */
export async function dropKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(
      cursor,
      'MATCH',
      `${escapeGlob(prefix)}*`,
      'COUNT',
      1000,
    );
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Quits a client, or disconnects it when the server is gone. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
