import { Redis } from 'ioredis';
import { QueueGate, RedisGateStore } from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { sleep, waitFor } from '../support/eventually';
import { parseInfo } from '../support/redis-cluster';
import { type SentinelGroup, startSentinelGroup } from '../support/redis-sentinel';
import { describeGateStoreContract } from '../support/store-contract';
import { closeClient, dropKeys, uniquePrefix } from '../support/test-redis';

/** Slot handed to a waiter, announced by PUBLISH: far sooner than a heartbeat. */
const ANNOUNCED_WITHIN_MS = 3_000;

/**
 * The Redis store through an ioredis client that finds the primary by asking Sentinel (a
 * primary, a replica and 3 sentinels, all private): the store contract, and a waiting acquire
 * woken by the release that frees its slot.
 */
describe('RedisGateStore through Sentinel', () => {
  let group: SentinelGroup;
  let client: Redis;

  const sentinelClient = () =>
    new Redis({ sentinels: group.sentinels, name: group.masterName, maxRetriesPerRequest: 1 });

  beforeAll(async () => {
    group = await startSentinelGroup();
    process.stdout.write(
      `sentinel group: primary, replica, 3 sentinels in ${group.startedInMs} ms\n`,
    );
    client = sentinelClient();
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  }, 30_000);

  afterAll(async () => {
    if (client) await closeClient(client);
    await group?.stop();
  });

  it('connects to the primary the sentinels name', async () => {
    const server = parseInfo(await client.info('server'));
    const replication = parseInfo(await client.info('replication'));
    expect(Number(server.tcp_port)).toBe(group.primary.port);
    expect(replication.role).toBe('master');
    expect(Number(replication.connected_slaves)).toBe(1);
  });

  describeGateStoreContract('RedisGateStore (Sentinel client)', () => {
    const prefix = uniquePrefix('sentinel-contract');
    return {
      store: new RedisGateStore(client, prefix),
      pass: (ms) => sleep(ms),
      dispose: () => dropKeys(client, prefix),
    };
  });

  it(`admits a waiter of another instance within ${ANNOUNCED_WITHIN_MS} ms of the release that frees its slot`, async () => {
    const prefix = uniquePrefix('sentinel-waiting');
    const logger = new CapturedLogger();
    const connections = [sentinelClient(), sentinelClient()];
    const [a, b] = connections.map(
      (connection) =>
        new QueueGate(new RedisGateStore(connection, prefix), {
          limits: { m: 1 },
          // The heartbeat runs every 10 s: only an announcement admits within the bound.
          waiting: { waiterLeaseMs: 30_000 },
          logger,
        }),
    );
    try {
      const held = await a.acquire('m', { taskId: 'holder' });
      expect(held.acquired).toBe(true);
      const waiting = b.acquire('m', { taskId: 'waiter', waitMs: 20_000 });
      await waitFor(async () => (await a.usage('m')).waiting === 1, 5_000, 'the waiter queued');

      const releasedAt = Date.now();
      expect(await a.release('m', 'holder', { token: held.token! })).toBe(true);
      const result = await waiting;
      expect(Date.now() - releasedAt).toBeLessThan(ANNOUNCED_WITHIN_MS);
      expect(result).toMatchObject({ acquired: true, taskId: 'waiter' });
      expect(result.token).toBeGreaterThan(held.token!);
      expect(await a.usage('m')).toMatchObject({ used: 1, waiting: 0 });
      expect(logger.warnings).toEqual([]);
    } finally {
      await Promise.all([a.close(0), b.close(0)]);
      await Promise.all(connections.map(closeClient));
      await dropKeys(client, prefix);
    }
  });
});
