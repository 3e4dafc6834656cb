import type { Redis } from 'ioredis';
import { defineGateScripts, type GateRedisClient } from '../../src/store/redis/gate-scripts';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { sleep } from '../support/eventually';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

const HOUR = 3_600_000;
const OLDEST = Buffer.from([0xff, 0x6f]); // '\xFFo': no lease ends before it
const KEY_END = Buffer.from([0xff, 0x65]); // '\xFFe': the expiry the keys were given

/**
 * The book's bookkeeping that spares the common acquire commands: the bound on the oldest lease
 * end (no reclaim scan while it lies ahead) and the expiry the keys were given (no expiry write
 * while it covers the lease). Each must never let a lease go unreclaimed once it ended, nor a key
 * expire before its longest lease.
 */
describe('gate scripts: bookkeeping of the common path', () => {
  let client: Redis;
  let scripts: GateRedisClient;
  let prefix: string;
  let store: RedisGateStore;
  let attempts = 0;

  beforeAll(() => {
    client = newRedis();
    scripts = defineGateScripts(client);
  });

  beforeEach(() => {
    prefix = uniquePrefix('bookkeeping');
    store = new RedisGateStore(client, prefix);
  });

  afterEach(async () => {
    await dropKeys(client, prefix);
  });

  afterAll(async () => {
    await closeClient(client);
  });

  function acquire(holder: string, leaseMs: number, extra: { waitMs?: number } = {}) {
    return store.acquire({
      gate: 'm',
      holder,
      limit: 10,
      leaseMs,
      attempt: `a${++attempts}`,
      ...(extra.waitMs ? { waiterLeaseMs: extra.waitMs } : {}),
    });
  }

  async function bookNumber(field: Buffer): Promise<number | null> {
    const value = await client.hgetBuffer(store.tokensKeyOf('m'), field);
    return value === null ? null : Number(value.toString());
  }

  async function longestLease(): Promise<number> {
    const scored = await client.zrange(store.keyOf('m'), -1, -1, 'WITHSCORES');
    return Number(scored[1]);
  }

  describe('the bound on the oldest lease end', () => {
    it('is the soonest lease end, lowered by a shorter lease that comes later', async () => {
      const long = await acquire('long', HOUR);
      expect(await bookNumber(OLDEST)).toBe(long.expiresAt);
      const short = await acquire('short', 1_000);
      expect(await bookNumber(OLDEST)).toBe(short.expiresAt);
      await acquire('middle', 60_000);
      expect(await bookNumber(OLDEST)).toBe(short.expiresAt);
    });

    it('lets an acquire skip the scan while it lies ahead, and reclaim once it has passed', async () => {
      await acquire('long', HOUR);
      await acquire('brief', 50);
      expect((await acquire('fresh', HOUR)).reclaimed).toBe(0);
      await sleep(100);
      const after = await acquire('after', HOUR);
      expect(after.reclaimed).toBe(1);
      expect(await client.zscore(store.keyOf('m'), 'brief')).toBeNull();
      // The bound moves to the oldest lease left.
      const scored = await client.zrange(store.keyOf('m'), 0, 0, 'WITHSCORES');
      expect(await bookNumber(OLDEST)).toBe(Number(scored[1]));
    });

    it('is lowered by a slot handed to a waiter, so that its lease is reclaimed when it ends', async () => {
      await store.acquire({ gate: 'm', holder: 'h', limit: 1, leaseMs: HOUR, attempt: 'x' });
      await store.acquire({
        gate: 'm',
        holder: 'w',
        limit: 1,
        leaseMs: 50,
        attempt: 'y',
        waiterLeaseMs: 5_000,
      });
      await store.release({ gate: 'm', holder: 'h' });
      const handed = Number(await client.zscore(store.keyOf('m'), 'w'));
      expect(await bookNumber(OLDEST)).toBeLessThanOrEqual(handed);
      await sleep(100);
      const next = await store.acquire({
        gate: 'm',
        holder: 'n',
        limit: 1,
        leaseMs: HOUR,
        attempt: 'z',
      });
      expect([next.admitted, next.reclaimed]).toEqual([true, 1]);
    });

    it('when absent (a book from before it existed) makes the acquire look, and reclaim', async () => {
      await acquire('brief', 50);
      await acquire('long', HOUR);
      await client.hdel(store.tokensKeyOf('m'), OLDEST);
      await sleep(100);
      expect((await acquire('next', HOUR)).reclaimed).toBe(1);
      const scored = await client.zrange(store.keyOf('m'), 0, 0, 'WITHSCORES');
      expect(await bookNumber(OLDEST)).toBe(Number(scored[1]));
    });

    it('is still a bound after reconcile adds holders with short leases', async () => {
      await acquire('long', HOUR);
      await store.reconcile({ gate: 'm', holders: ['long', 'added'], leaseMs: 50 });
      await sleep(100);
      expect((await acquire('next', HOUR)).reclaimed).toBe(1);
    });
  });

  describe('the expiry the keys were given', () => {
    it('covers the longest lease by the grace, and is written again only when it would not', async () => {
      const first = await acquire('a', HOUR);
      const recorded = (await bookNumber(KEY_END))!;
      expect(recorded).toBeGreaterThan(first.expiresAt!);
      expect(await client.pexpiretime(store.keyOf('m'))).toBe(recorded);
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBe(recorded);
      // A lease of the same length a moment later is covered: nothing moves.
      await acquire('b', HOUR);
      expect(await bookNumber(KEY_END)).toBe(recorded);
      expect(await client.pexpiretime(store.keyOf('m'))).toBe(recorded);
      // A much longer lease pushes both keys.
      await acquire('c', 72 * HOUR);
      const pushed = (await bookNumber(KEY_END))!;
      expect(pushed).toBeGreaterThan(await longestLease());
      expect(await client.pexpiretime(store.keyOf('m'))).toBe(pushed);
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBe(pushed);
    });

    it('is never pulled in: a key given a later expiry keeps it', async () => {
      await acquire('a', HOUR);
      const far = (await bookNumber(KEY_END))! + 100 * HOUR;
      await client.pexpireat(store.keyOf('m'), far);
      await client.pexpireat(store.tokensKeyOf('m'), far);
      // Forget what the book recorded: the next acquire must push, and must not shorten.
      await client.hdel(store.tokensKeyOf('m'), KEY_END);
      await acquire('b', 2 * HOUR);
      expect(await client.pexpiretime(store.keyOf('m'))).toBe(far);
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBe(far);
    });

    it('is given to a holders key created again after the gate emptied', async () => {
      await acquire('a', HOUR);
      await store.release({ gate: 'm', holder: 'a' });
      expect(await client.exists(store.keyOf('m'))).toBe(0);
      const again = await acquire('b', HOUR);
      const expiry = await client.pexpiretime(store.keyOf('m'));
      expect(expiry).toBeGreaterThan(again.expiresAt!);
      expect(expiry).toBe(await client.pexpiretime(store.tokensKeyOf('m')));
    });

    it('is rewritten by reconcile, which may pull the expiry in, so a later longer lease pushes again', async () => {
      await acquire('gone', 96 * HOUR);
      await store.reconcile({ gate: 'm', holders: ['kept'], leaseMs: HOUR });
      const afterReconcile = await client.pexpiretime(store.keyOf('m'));
      expect(await bookNumber(KEY_END)).toBe(afterReconcile);
      await acquire('longer', 48 * HOUR);
      expect(await client.pexpiretime(store.keyOf('m'))).toBeGreaterThan(await longestLease());
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBeGreaterThan(
        await longestLease(),
      );
    });
  });

  describe('the short form of a plain acquire', () => {
    const keys = () => [store.keyOf('m'), store.tokensKeyOf('m'), store.queueKeyOf('m')] as const;
    const short = (holder: string, limit: number, attempt: string) =>
      scripts.queueGateAcquire(
        ...keys(),
        holder,
        limit,
        HOUR,
        attempt,
        store.channelOf('m'),
        'PUBLISH',
      );

    it('answers its common path in one string, and anything else as the full form does', async () => {
      // A new book takes the full path, which sets the book up.
      const first = await short('first', 2, 'f');
      expect(Array.isArray(first) && first.slice(0, 4)).toEqual([1, 0, 1, 0]);
      // The common path: '<admitted>:<used>:<expiresAt>:<now>:<token>'.
      const admitted = await short('s', 2, 'x');
      expect(typeof admitted).toBe('string');
      const [ok, used, expiresAt, now, token] = String(admitted).split(':').map(Number);
      expect([ok, used, expiresAt - now]).toEqual([1, 2, HOUR]);
      expect(await client.hget(store.tokensKeyOf('m'), 's')).toBe(`${token}:x`);
      expect(Number(await client.zscore(store.keyOf('m'), 's'))).toBe(expiresAt);
      // Full: a newcomer is refused there, a holder that already holds takes the full path.
      expect(
        String(await short('r', 2, 'y'))
          .split(':')
          .slice(0, 3),
      ).toEqual(['0', '2', '0']);
      const again = await short('s', 2, 'z');
      expect(Array.isArray(again) && again.slice(0, 2)).toEqual([1, 1]);
      expect(Array.isArray(again) && again[6]).toBe(token);
    });

    it('is read by the store as the full answer', async () => {
      await store.acquire({ gate: 'm', holder: 'a', limit: 2, leaseMs: HOUR, attempt: 'a' });
      const common = await store.acquire({
        gate: 'm',
        holder: 'b',
        limit: 2,
        leaseMs: HOUR,
        attempt: 'b',
      });
      expect(common).toMatchObject({
        admitted: true,
        alreadyHeld: false,
        used: 2,
        reclaimed: 0,
        refusedBy: null,
        position: null,
        tenantUsed: 0,
      });
      expect(common.expiresAt! - common.now).toBe(HOUR);
      const refused = await store.acquire({
        gate: 'm',
        holder: 'c',
        limit: 2,
        leaseMs: HOUR,
        attempt: 'c',
      });
      expect(refused).toMatchObject({
        admitted: false,
        used: 2,
        expiresAt: null,
        token: null,
        refusedBy: 'model',
      });
      const released = await store.release({
        gate: 'm',
        holder: 'b',
        fence: { token: common.token! },
      });
      expect(released).toEqual({ released: true, stale: false, currentToken: null });
    });
  });
});
