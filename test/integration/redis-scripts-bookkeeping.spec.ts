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
    it('admits as the full form does, and fills in the defaults', async () => {
      const channel = store.channelOf('m');
      const keys = [store.keyOf('m'), store.tokensKeyOf('m'), store.queueKeyOf('m')] as const;
      const short = await scripts.queueGateAcquire(...keys, 's', 1, HOUR, 'x', channel, 'PUBLISH');
      expect(short.slice(0, 4)).toEqual([1, 0, 1, 0]);
      expect(short.slice(7)).toEqual([0, 0, 0]);
      // The gate is full at 1: the short form is refused without waiting, the full one queues.
      const refused = await scripts.queueGateAcquire(
        ...keys,
        'r',
        1,
        HOUR,
        'y',
        channel,
        'PUBLISH',
      );
      expect([refused[0], refused[7], refused[8]]).toEqual([0, 1, 0]);
      const queued = await scripts.queueGateAcquire(
        ...keys,
        'q',
        1,
        HOUR,
        'z',
        '0',
        1,
        '',
        0,
        5_000,
        channel,
        'PUBLISH',
      );
      expect([queued[0], queued[8]]).toEqual([0, 1]);
      expect(await client.hget(store.tokensKeyOf('m'), 's')).toBe(`${short[6]}:x`);
    });
  });
});
