import type { Redis } from 'ioredis';
import { defineGateScripts, type GateRedisClient } from '../../src/store/redis/gate-scripts';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

const HOUR = 3_600_000;

describe('gate scripts on Redis', () => {
  let client: Redis;
  let scripts: GateRedisClient;
  let prefix: string;
  let store: RedisGateStore;

  beforeAll(() => {
    client = newRedis();
    scripts = defineGateScripts(client);
  });

  beforeEach(() => {
    prefix = uniquePrefix('scripts');
    store = new RedisGateStore(client, prefix);
  });

  afterEach(async () => {
    await dropKeys(client, prefix);
  });

  afterAll(async () => {
    await closeClient(client);
  });

  /** The Redis server's clock in ms. */
  async function serverNow(): Promise<number> {
    const [seconds, micros] = await client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** The gate's key must not expire before its longest-living member's lease. */
  async function expectKeyOutlivesLeases(key: string): Promise<void> {
    const scored = await client.zrange(key, 0, -1, 'WITHSCORES');
    expect(scored.length).toBeGreaterThan(0);
    const longest = Math.max(...scored.filter((_, i) => i % 2 === 1).map(Number));

    // PEXPIRETIME is absolute; PTTL is relative to the server's clock read just before.
    const before = await serverNow();
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(before + ttl).toBeGreaterThanOrEqual(longest);
    expect(await client.pexpiretime(key)).toBeGreaterThanOrEqual(longest);
  }

  it('keeps a gate in one sorted set at <prefix>{<model>}', async () => {
    const reply = await store.acquire({ gate: 'gpt-4o', holder: 'a', limit: 2, leaseMs: HOUR });
    const key = `${prefix}{gpt-4o}`;
    expect(store.keyOf('gpt-4o')).toBe(key);
    expect(await client.keys(`${prefix}*`)).toEqual([key]);
    expect(await client.type(key)).toBe('zset');
    expect(Number(await client.zscore(key, 'a'))).toBe(reply.expiresAt);
  });

  describe('key expiry', () => {
    it('outlives the longest lease when a shorter lease follows a longer one', async () => {
      const key = store.keyOf('m');
      // Longer than any grace the key may be given, so "this call's lease + a margin" fails.
      await store.acquire({ gate: 'm', holder: 'long', limit: 5, leaseMs: 48 * HOUR });
      await expectKeyOutlivesLeases(key);
      await store.acquire({ gate: 'm', holder: 'short', limit: 5, leaseMs: 100 });
      await expectKeyOutlivesLeases(key);
      await store.acquire({ gate: 'm', holder: 'long', limit: 5, leaseMs: 100 });
      await expectKeyOutlivesLeases(key);
    });

    it('outlives a lease that extend made the longest', async () => {
      const key = store.keyOf('m');
      await store.acquire({ gate: 'm', holder: 'a', limit: 5, leaseMs: HOUR });
      await store.acquire({ gate: 'm', holder: 'b', limit: 5, leaseMs: HOUR });
      expect((await store.extend({ gate: 'm', holder: 'b', leaseMs: 72 * HOUR })).extended).toBe(
        true,
      );
      await expectKeyOutlivesLeases(key);
      await store.extend({ gate: 'm', holder: 'a', leaseMs: 1_000 });
      await expectKeyOutlivesLeases(key);
    });

    it('outlives kept and added leases after reconcile', async () => {
      const key = store.keyOf('m');
      await store.acquire({ gate: 'm', holder: 'kept', limit: 5, leaseMs: 48 * HOUR });
      await store.acquire({ gate: 'm', holder: 'gone', limit: 5, leaseMs: 96 * HOUR });
      await store.reconcile({ gate: 'm', holders: ['kept', 'new'], leaseMs: 1_000 });
      await expectKeyOutlivesLeases(key);

      // A gate rebuilt from nothing (Redis lost it) gets an expiry too.
      await client.del(key);
      await store.reconcile({ gate: 'm', holders: ['x', 'y'], leaseMs: HOUR });
      await expectKeyOutlivesLeases(key);
    });

    it('leaves no key behind for a gate that reconcile emptied', async () => {
      await store.acquire({ gate: 'm', holder: 'a', limit: 5, leaseMs: HOUR });
      await store.reconcile({ gate: 'm', holders: [], leaseMs: HOUR });
      expect(await client.exists(store.keyOf('m'))).toBe(0);
    });
  });

  describe('replies', () => {
    it('acquire: { admitted, alreadyHeld, used, reclaimed, expiresAt, now } on the server clock', async () => {
      const key = store.keyOf('m');
      const before = await serverNow();
      const admitted = await scripts.queueGateAcquire(key, 'a', 1, 5_000);
      const after = await serverNow();
      const now = admitted[5];
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(after);
      expect(admitted).toEqual([1, 0, 1, 0, now + 5_000, now]);

      const held = await scripts.queueGateAcquire(key, 'a', 1, 1_000);
      expect(held).toEqual([1, 1, 1, 0, now + 5_000, expect.any(Number)]);

      const refused = await scripts.queueGateAcquire(key, 'b', 1, 5_000);
      expect(refused).toEqual([0, 0, 1, 0, 0, expect.any(Number)]);

      // 0 is the script's "unlimited"; the holder is still recorded.
      expect((await scripts.queueGateAcquire(key, 'c', 0, 5_000)).slice(0, 4)).toEqual([
        1, 0, 2, 0,
      ]);
    });

    it('extend: { extended, expiresAt, now }, and a lost lease stays out of the set', async () => {
      const key = store.keyOf('m');
      await scripts.queueGateAcquire(key, 'a', 1, 5_000);
      const [extended, expiresAt, now] = await scripts.queueGateExtend(key, 'a', 9_000);
      expect([extended, expiresAt]).toEqual([1, now + 9_000]);
      expect(await scripts.queueGateExtend(key, 'nobody', 9_000)).toEqual([
        0,
        0,
        expect.any(Number),
      ]);

      await scripts.queueGateAcquire(key, 'brief', 0, 20);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await scripts.queueGateExtend(key, 'brief', 9_000)).toEqual([
        0,
        0,
        expect.any(Number),
      ]);
      expect(await client.zscore(key, 'brief')).toBeNull();
    });

    it('usage: { used, now }; holders: { now, [holder, expiresAt, ...] }', async () => {
      const key = store.keyOf('m');
      const [, , , , aEnd] = await scripts.queueGateAcquire(key, 'a', 0, 9_000);
      const [, , , , bEnd] = await scripts.queueGateAcquire(key, 'b', 0, 5_000);
      expect(await scripts.queueGateUsage(key)).toEqual([2, expect.any(Number)]);
      expect(await scripts.queueGateHolders(key)).toEqual([
        expect.any(Number),
        ['b', String(bEnd), 'a', String(aEnd)],
      ]);
    });

    it('reconcile: { added, removed, used }, also for long lists', async () => {
      const key = store.keyOf('m');
      await scripts.queueGateAcquire(key, 'old', 0, 5_000);
      // Far more arguments than Lua's unpack could take at once.
      const ids = Array.from({ length: 10_000 }, (_, i) => `task-${i}`);
      expect(await scripts.queueGateReconcile(key, 5_000, ids.length, ...ids, 'all')).toEqual([
        10_000, 1, 10_000,
      ]);
      expect(await client.zcard(key)).toBe(10_000);

      // 'listed' removes only the unlisted holders named after it.
      expect(
        await scripts.queueGateReconcile(key, 5_000, 1, 'task-0', 'listed', 'task-1', 'task-2'),
      ).toEqual([0, 2, 9_998]);
    });
  });
});
