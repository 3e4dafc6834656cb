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

  let attempts = 0;
  /** An acquire on gate 'm' through the store, each with its own attempt id. */
  function acquire(request: { holder: string; limit: number; leaseMs: number }) {
    return store.acquire({ gate: 'm', ...request, attempt: `a${++attempts}` });
  }

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

  it('keeps a gate in a sorted set at <prefix>{<model>} and its tokens in a hash beside it', async () => {
    const reply = await store.acquire({
      gate: 'gpt-4o',
      holder: 'a',
      limit: 2,
      leaseMs: HOUR,
      attempt: 'x',
    });
    const key = `${prefix}{gpt-4o}`;
    expect(store.keyOf('gpt-4o')).toBe(key);
    expect(store.tokensKeyOf('gpt-4o')).toBe(`${key}:tokens`);
    expect((await client.keys(`${prefix}*`)).sort()).toEqual([key, `${key}:tokens`]);
    expect(await client.type(key)).toBe('zset');
    expect(Number(await client.zscore(key, 'a'))).toBe(reply.expiresAt);
    expect(await client.hget(`${key}:tokens`, 'a')).toBe(`${reply.token}:x`);
  });

  describe('key expiry', () => {
    it('outlives the longest lease when a shorter lease follows a longer one', async () => {
      const key = store.keyOf('m');
      // Longer than any grace the key may be given, so "this call's lease + a margin" fails.
      await acquire({ holder: 'long', limit: 5, leaseMs: 48 * HOUR });
      await expectKeyOutlivesLeases(key);
      await acquire({ holder: 'short', limit: 5, leaseMs: 100 });
      await expectKeyOutlivesLeases(key);
      await acquire({ holder: 'long', limit: 5, leaseMs: 100 });
      await expectKeyOutlivesLeases(key);
    });

    it('outlives a lease that extend made the longest', async () => {
      const key = store.keyOf('m');
      await acquire({ holder: 'a', limit: 5, leaseMs: HOUR });
      await acquire({ holder: 'b', limit: 5, leaseMs: HOUR });
      expect((await store.extend({ gate: 'm', holder: 'b', leaseMs: 72 * HOUR })).extended).toBe(
        true,
      );
      await expectKeyOutlivesLeases(key);
      await store.extend({ gate: 'm', holder: 'a', leaseMs: 1_000 });
      await expectKeyOutlivesLeases(key);
    });

    it('outlives kept and added leases after reconcile', async () => {
      const key = store.keyOf('m');
      await acquire({ holder: 'kept', limit: 5, leaseMs: 48 * HOUR });
      await acquire({ holder: 'gone', limit: 5, leaseMs: 96 * HOUR });
      await store.reconcile({ gate: 'm', holders: ['kept', 'new'], leaseMs: 1_000 });
      await expectKeyOutlivesLeases(key);

      // A gate rebuilt from nothing (Redis lost it) gets an expiry too.
      await client.del(key);
      await store.reconcile({ gate: 'm', holders: ['x', 'y'], leaseMs: HOUR });
      await expectKeyOutlivesLeases(key);
    });

    it('keeps the tokens key alive as long as the holders key', async () => {
      await acquire({ holder: 'long', limit: 5, leaseMs: 48 * HOUR });
      await acquire({ holder: 'short', limit: 5, leaseMs: 100 });
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBe(
        await client.pexpiretime(store.keyOf('m')),
      );
    });

    it('leaves no key behind for a gate that reconcile emptied', async () => {
      await acquire({ holder: 'a', limit: 5, leaseMs: HOUR });
      await store.reconcile({ gate: 'm', holders: [], leaseMs: HOUR });
      expect(await client.exists(store.keyOf('m'))).toBe(0);
    });
  });

  describe('fencing tokens', () => {
    it('keep increasing after the keys of the gate expired', async () => {
      const first = await acquire({ holder: 'a', limit: 1, leaseMs: HOUR });
      // What expiry does to an idle gate: both keys are gone, the last token with them.
      await client.del(store.keyOf('m'), store.tokensKeyOf('m'));
      const after = await acquire({ holder: 'a', limit: 1, leaseMs: HOUR });
      expect(after.token).toBeGreaterThan(first.token!);
      // Seeded from the server clock in microseconds.
      expect(after.token! / 1000).toBeGreaterThanOrEqual(first.now);
    });

    it('leave no token behind for a holder that is released, reclaimed or reconciled away', async () => {
      await acquire({ holder: 'released', limit: 0, leaseMs: HOUR });
      await acquire({ holder: 'expiring', limit: 0, leaseMs: 20 });
      await acquire({ holder: 'unknown', limit: 0, leaseMs: HOUR });
      await store.release({ gate: 'm', holder: 'released' });
      await new Promise((resolve) => setTimeout(resolve, 60));
      await acquire({ holder: 'kept', limit: 0, leaseMs: HOUR });
      await store.reconcile({ gate: 'm', holders: ['kept'], leaseMs: HOUR });
      expect((await client.hkeys(store.tokensKeyOf('m'))).sort()).toEqual(['', 'kept']);
    });
  });

  describe('input checks', () => {
    it('refuse a lease too long for a key expiry before writing anything', async () => {
      await expect(acquire({ holder: 'a', limit: 1, leaseMs: 1e14 })).rejects.toThrow(
        /leaseMs must be an integer/,
      );
      expect(await client.exists(store.keyOf('m'), store.tokensKeyOf('m'))).toBe(0);
      await acquire({ holder: 'b', limit: 1, leaseMs: HOUR });
      await expect(store.extend({ gate: 'm', holder: 'b', leaseMs: 1e14 })).rejects.toThrow(
        /leaseMs/,
      );
      await expect(store.reconcile({ gate: 'm', holders: ['c'], leaseMs: 1e14 })).rejects.toThrow(
        /leaseMs/,
      );
      expect(await client.zrange(store.keyOf('m'), 0, -1)).toEqual(['b']);
    });

    it('refuse a limit that is not a whole number >= 0', async () => {
      await expect(
        scripts.queueGateAcquire(store.keyOf('m'), store.tokensKeyOf('m'), 'a', -1, HOUR, 'x', '0'),
      ).rejects.toThrow(/limit must be an integer/);
      expect(await client.exists(store.keyOf('m'))).toBe(0);
    });
  });

  describe('replies', () => {
    const keys = () => [store.keyOf('m'), store.tokensKeyOf('m')] as const;

    it('acquire: { admitted, alreadyHeld, used, reclaimed, expiresAt, now, token } on the server clock', async () => {
      const before = await serverNow();
      const admitted = await scripts.queueGateAcquire(...keys(), 'a', 1, 5_000, 'x1', '0');
      const after = await serverNow();
      const now = admitted[5];
      const token = admitted[6];
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(after);
      expect(admitted).toEqual([1, 0, 1, 0, now + 5_000, now, token]);
      expect(await client.hget(store.tokensKeyOf('m'), 'a')).toBe(`${token}:x1`);

      const held = await scripts.queueGateAcquire(...keys(), 'a', 1, 1_000, 'x2', '0');
      expect(held).toEqual([1, 1, 1, 0, now + 5_000, expect.any(Number), token]);

      const renewed = await scripts.queueGateAcquire(...keys(), 'a', 1, 1_000, 'x3', '1');
      expect(renewed[6]).toBeGreaterThan(token);

      const refused = await scripts.queueGateAcquire(...keys(), 'b', 1, 5_000, 'x4', '0');
      expect(refused).toEqual([0, 0, 1, 0, 0, expect.any(Number), 0]);

      // 0 is the script's "unlimited"; the holder is still recorded.
      expect(
        (await scripts.queueGateAcquire(...keys(), 'c', 0, 5_000, 'x5', '0')).slice(0, 4),
      ).toEqual([1, 0, 2, 0]);
    });

    it('release: { released, stale, currentToken }', async () => {
      const [, , , , , , token] = await scripts.queueGateAcquire(
        ...keys(),
        'a',
        1,
        5_000,
        'x',
        '0',
      );
      expect(await scripts.queueGateRelease(...keys(), 'a', 'token', String(token - 1))).toEqual([
        0,
        1,
        token,
      ]);
      expect(await scripts.queueGateRelease(...keys(), 'a', 'attempt', 'other')).toEqual([
        0,
        1,
        token,
      ]);
      expect(await scripts.queueGateRelease(...keys(), 'a', 'token', String(token))).toEqual([
        1, 0, 0,
      ]);
      expect(await scripts.queueGateRelease(...keys(), 'a', '', '')).toEqual([0, 0, 0]);
    });

    it('extend: { extended, expiresAt, now, stale, currentToken }, and a lost lease stays out', async () => {
      const [, , , , , , token] = await scripts.queueGateAcquire(
        ...keys(),
        'a',
        1,
        5_000,
        'x',
        '0',
      );
      const [extended, expiresAt, now, stale, current] = await scripts.queueGateExtend(
        ...keys(),
        'a',
        9_000,
        '',
      );
      expect([extended, expiresAt, stale, current]).toEqual([1, now + 9_000, 0, token]);
      expect(await scripts.queueGateExtend(...keys(), 'a', 9_000, String(token + 1))).toEqual([
        0,
        0,
        expect.any(Number),
        1,
        token,
      ]);
      expect(await scripts.queueGateExtend(...keys(), 'nobody', 9_000, '')).toEqual([
        0,
        0,
        expect.any(Number),
        0,
        0,
      ]);

      await scripts.queueGateAcquire(...keys(), 'brief', 0, 20, 'y', '0');
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await scripts.queueGateExtend(...keys(), 'brief', 9_000, '')).toEqual([
        0,
        0,
        expect.any(Number),
        0,
        0,
      ]);
      expect(await client.zscore(store.keyOf('m'), 'brief')).toBeNull();
    });

    it('usage: { used, now }; holders: { now, [holder, expiresAt, token, ...] }', async () => {
      const a = await scripts.queueGateAcquire(...keys(), 'a', 0, 9_000, 'x', '0');
      const b = await scripts.queueGateAcquire(...keys(), 'b', 0, 5_000, 'y', '0');
      expect(await scripts.queueGateUsage(store.keyOf('m'))).toEqual([2, expect.any(Number)]);
      expect(await scripts.queueGateHolders(...keys())).toEqual([
        expect.any(Number),
        ['b', String(b[4]), b[6], 'a', String(a[4]), a[6]],
      ]);
    });

    it('reconcile: { added, removed, used }, also for long lists', async () => {
      await scripts.queueGateAcquire(...keys(), 'old', 0, 5_000, 'x', '0');
      // Far more arguments than Lua's unpack could take at once.
      const ids = Array.from({ length: 10_000 }, (_, i) => `task-${i}`);
      expect(
        await scripts.queueGateReconcile(...keys(), 5_000, '', ids.length, ...ids, 'all'),
      ).toEqual([10_000, 1, 10_000]);
      expect(await client.zcard(store.keyOf('m'))).toBe(10_000);

      // 'listed' removes only the unlisted holders named after it, as (holder, token) pairs.
      expect(
        await scripts.queueGateReconcile(
          ...keys(),
          5_000,
          '',
          1,
          'task-0',
          'listed',
          'task-1',
          '',
          'task-2',
          '',
        ),
      ).toEqual([0, 2, 9_998]);
    });
  });
});
