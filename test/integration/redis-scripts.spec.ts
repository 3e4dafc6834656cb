import type { Redis } from 'ioredis';
import { defineGateScripts, type GateRedisClient } from '../../src/store/redis/gate-scripts';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { eventually, sleep } from '../support/eventually';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

const HOUR = 3_600_000;

/** A gate's book as raw bytes: the fields that start with 0xFF are named by what they hold. */
interface Book {
  /** Holder id → admission ('<token>:<attempt>[:<cost>:<tenant>]'), and '' → the last token. */
  admissions: Record<string, string>;
  /**
   * The 0xFF fields: 'extra', 'tenant:<t>', 'queued', 'ticket', 'waiter:<holder>', and the
   * expiry bookkeeping 'keyEnd' (the expiry given to the keys) and 'oldest' (a bound on the
   * oldest lease end).
   */
  counters: Record<string, string>;
}

const COUNTER_NAMES: Record<string, string> = {
  x: 'extra',
  t: 'tenant:',
  q: 'queued',
  n: 'ticket',
  e: 'keyEnd',
  o: 'oldest',
  r: 'reclaimed',
};

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

  // The raw scripts on gate 'm', with the argument layouts of GateScriptCommands.
  const keys = () => [store.keyOf('m'), store.tokensKeyOf('m'), store.queueKeyOf('m')] as const;
  const announce = () => [store.channelOf('m'), 'PUBLISH'] as const;

  interface RawAcquire {
    holder: string;
    limit: number;
    attempt: string;
    leaseMs?: number;
    renew?: boolean;
    cost?: number;
    tenant?: string;
    perTenant?: number;
    waiterLeaseMs?: number;
  }
  function rawAcquire(request: RawAcquire): Promise<number[]> {
    return scripts.queueGateAcquire(
      ...keys(),
      request.holder,
      request.limit,
      request.leaseMs ?? 5_000,
      request.attempt,
      request.renew ? '1' : '0',
      request.cost ?? 1,
      request.tenant ?? '',
      request.perTenant ?? 0,
      request.waiterLeaseMs ?? 0,
      ...announce(),
    );
  }
  function rawRelease(
    holder: string,
    fence: '' | 'token' | 'attempt' = '',
    fencedTo = '',
  ): Promise<number[] | number> {
    return scripts.queueGateRelease(...keys(), holder, fence, fencedTo, ...announce());
  }
  function rawHeartbeat(waiterLeaseMs: number, ...pairs: string[]): Promise<(number | string)[]> {
    return scripts.queueGateHeartbeat(...keys(), waiterLeaseMs, ...announce(), ...pairs);
  }
  function rawLeave(holder: string, attempt: string): Promise<(number | string)[]> {
    return scripts.queueGateLeave(...keys(), holder, attempt, ...announce());
  }

  /** Reads the book byte for byte (a client decoding field names as UTF-8 would mangle 0xFF). */
  async function readBook(): Promise<Book> {
    const flat = (await client.callBuffer('HGETALL', store.tokensKeyOf('m'))) as Buffer[];
    const book: Book = { admissions: {}, counters: {} };
    for (let i = 0; i < flat.length; i += 2) {
      const field = flat[i].toString('latin1');
      const value = flat[i + 1].toString('utf8');
      if (field.charCodeAt(0) !== 0xff) {
        book.admissions[flat[i].toString('utf8')] = value;
      } else if (field[1] === 'w') {
        book.counters[`waiter:${field.slice(2)}`] = value;
      } else {
        const name = COUNTER_NAMES[field[1]] ?? `unknown:${field.slice(1)}`;
        book.counters[name.endsWith(':') ? name + field.slice(2) : name] = value;
      }
    }
    return book;
  }

  /**
   * The counters of the book, without the waiters' records and the expiry bookkeeping. The gate's
   * own counters (extra, queued) stay in the book at 0 once written: at 0 they are left out.
   */
  async function counters(): Promise<Record<string, string>> {
    const { counters: all } = await readBook();
    return Object.fromEntries(
      Object.entries(all).filter(
        ([name, value]) =>
          !name.startsWith('waiter:') &&
          name !== 'keyEnd' &&
          name !== 'oldest' &&
          !((name === 'extra' || name === 'queued') && value === '0'),
      ),
    );
  }

  /** A waiter's record in the book, parsed. */
  async function waiterRecord(holder: string) {
    const record = (await readBook()).counters[`waiter:${holder}`];
    if (record === undefined) return undefined;
    const [deadline, leaseMs, limit, perTenant, cost, attempt, tenant] = record.split(':');
    return {
      deadline: Number(deadline),
      leaseMs: Number(leaseMs),
      limit: Number(limit),
      perTenant: Number(perTenant),
      cost: Number(cost),
      attempt,
      tenant,
    };
  }

  /** Messages on the gate's channel, through a second connection. */
  async function listen(): Promise<{
    /** The messages published up to now (a marker published and received proves it). */
    received(): Promise<unknown[]>;
    close(): Promise<void>;
  }> {
    const subscriber = client.duplicate();
    const messages: string[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === store.channelOf('m')) messages.push(message);
    });
    await subscriber.subscribe(store.channelOf('m'));
    let markers = 0;
    return {
      async received() {
        // One subscriber gets a channel's messages in the order Redis ran the publishes.
        const marker = `marker-${++markers}`;
        await client.publish(store.channelOf('m'), marker);
        await eventually(() => expect(messages).toContain(marker));
        const before = messages.splice(0, messages.indexOf(marker) + 1).slice(0, -1);
        return before.map((message) => JSON.parse(message) as unknown);
      },
      close: () => closeClient(subscriber),
    };
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
    expect(store.queueKeyOf('gpt-4o')).toBe(`${key}:queue`);
    expect(store.channelOf('gpt-4o')).toBe(`${key}:admitted`);
    // The queue exists only while someone waits.
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

    it('keeps the queue and the book alive past a waiter’s place', async () => {
      await rawAcquire({ holder: 'h', limit: 1, attempt: 'x', leaseMs: 100 });
      await rawAcquire({ holder: 'w', limit: 1, attempt: 'y', waiterLeaseMs: 48 * HOUR });
      const { deadline } = (await waiterRecord('w'))!;
      expect(await client.pexpiretime(store.queueKeyOf('m'))).toBeGreaterThanOrEqual(deadline);
      expect(await client.pexpiretime(store.tokensKeyOf('m'))).toBeGreaterThanOrEqual(deadline);
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
      await sleep(60);
      await acquire({ holder: 'kept', limit: 0, leaseMs: HOUR });
      await store.reconcile({ gate: 'm', holders: ['kept'], leaseMs: HOUR });
      expect(Object.keys((await readBook()).admissions).sort()).toEqual(['', 'kept']);
    });

    it('increase in the order waiters are handed units, after the releasing holder’s', async () => {
      const [, , , , , , held] = await rawAcquire({ holder: 'h', limit: 2, attempt: 'x', cost: 2 });
      for (const holder of ['w1', 'w2']) {
        await rawAcquire({ holder, limit: 2, attempt: `a-${holder}`, waiterLeaseMs: 5_000 });
      }
      await rawRelease('h');
      const { admissions } = await readBook();
      const w1 = Number(admissions.w1.split(':')[0]);
      const w2 = Number(admissions.w2.split(':')[0]);
      expect(w1).toBeGreaterThan(held);
      expect(w2).toBeGreaterThan(w1);
      expect(Number(admissions[''])).toBe(w2);
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

    it.each<[string, Partial<RawAcquire>, RegExp]>([
      ['a limit below 0', { limit: -1 }, /limit must be an integer/],
      ['a cost of 0', { cost: 0 }, /cost must be an integer/],
      ['a fractional cost', { cost: 1.5 }, /cost must be an integer/],
      ['a share below 0', { tenant: 't', perTenant: -1 }, /perTenant must be an integer/],
      ['a waiter lease too long', { waiterLeaseMs: 1e14 }, /waiterLeaseMs must be an integer/],
    ])('acquire refuses %s before writing anything', async (_, request, error) => {
      await expect(rawAcquire({ holder: 'a', limit: 1, attempt: 'x', ...request })).rejects.toThrow(
        error,
      );
      const written = await client.exists(...keys());
      expect(written).toBe(0);
    });

    it('heartbeat refuses a waiter lease of 0 before writing anything', async () => {
      await expect(rawHeartbeat(0, 'w', 'x')).rejects.toThrow(/waiterLeaseMs must be an integer/);
      expect(await client.exists(...keys())).toBe(0);
    });
  });

  describe('replies', () => {
    it('acquire: { admitted, alreadyHeld, used, reclaimed, expiresAt, now, token, refusedBy, position, tenantUsed } on the server clock', async () => {
      const before = await serverNow();
      const admitted = await rawAcquire({ holder: 'a', limit: 1, attempt: 'x1' });
      const after = await serverNow();
      const now = admitted[5];
      const token = admitted[6];
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(after);
      expect(admitted).toEqual([1, 0, 1, 0, now + 5_000, now, token, 0, 0, 0]);
      expect(await client.hget(store.tokensKeyOf('m'), 'a')).toBe(`${token}:x1`);

      const held = await rawAcquire({ holder: 'a', limit: 1, attempt: 'x2', leaseMs: 1_000 });
      expect(held).toEqual([1, 1, 1, 0, now + 5_000, expect.any(Number), token, 0, 0, 0]);

      const renewed = await rawAcquire({ holder: 'a', limit: 1, attempt: 'x3', renew: true });
      expect(renewed[6]).toBeGreaterThan(token);

      // Refused by the model's limit, answered at once (no waiter lease): not queued.
      const refused = await rawAcquire({ holder: 'b', limit: 1, attempt: 'x4' });
      expect(refused).toEqual([0, 0, 1, 0, 0, expect.any(Number), 0, 1, 0, 0]);
      expect(await client.exists(store.queueKeyOf('m'))).toBe(0);

      // 0 is the script's "unlimited"; the holder is still recorded.
      expect((await rawAcquire({ holder: 'c', limit: 0, attempt: 'x5' })).slice(0, 4)).toEqual([
        1, 0, 2, 0,
      ]);
    });

    it('acquire: units and tenant units, refusedBy 2 for the tenant’s share, 1 when the model refuses too', async () => {
      const share = { limit: 6, perTenant: 3 };
      const a1 = await rawAcquire({
        holder: 'a1',
        attempt: 'x',
        cost: 2,
        tenant: 'acme',
        ...share,
      });
      expect(a1).toEqual([1, 0, 2, 0, expect.any(Number), expect.any(Number), a1[6], 0, 0, 2]);
      expect(await client.hget(store.tokensKeyOf('m'), 'a1')).toBe(`${a1[6]}:x:2:acme`);

      // acme holds 2 of its 3: a task of cost 2 does not fit its share, though the model has room.
      expect(
        await rawAcquire({ holder: 'a2', attempt: 'y', cost: 2, tenant: 'acme', ...share }),
      ).toEqual([0, 0, 2, 0, 0, expect.any(Number), 0, 2, 0, 2]);
      const b1 = await rawAcquire({
        holder: 'b1',
        attempt: 'z',
        cost: 3,
        tenant: 'beta',
        ...share,
      });
      expect(b1.slice(0, 4)).toEqual([1, 0, 5, 0]);
      expect(b1.slice(7)).toEqual([0, 0, 3]);
      // A weighted task without a tenant: recorded with an empty tenant.
      const c1 = await rawAcquire({ holder: 'c1', attempt: 'w', limit: 6 });
      expect(await client.hget(store.tokensKeyOf('m'), 'c1')).toBe(`${c1[6]}:w`);

      // Both the model (6 + 2 > 6) and acme's share refuse: the model is named.
      expect(
        await rawAcquire({ holder: 'a3', attempt: 'v', cost: 2, tenant: 'acme', ...share }),
      ).toEqual([0, 0, 6, 0, 0, expect.any(Number), 0, 1, 0, 2]);
      // Without a tenant, tenantUsed is 0.
      expect(await rawAcquire({ holder: 'd', attempt: 'u', cost: 1, limit: 6 })).toEqual([
        0,
        0,
        6,
        0,
        0,
        expect.any(Number),
        0,
        1,
        0,
        0,
      ]);
      expect(await counters()).toEqual({ extra: '3', 'tenant:acme': '2', 'tenant:beta': '3' });
    });

    it('acquire with a waiter lease: queues with its position, keeps its ticket when it asks again', async () => {
      await rawAcquire({ holder: 'h', limit: 1, attempt: 'x' });
      const queued = await rawAcquire({
        holder: 'w1',
        limit: 1,
        attempt: 'a1',
        waiterLeaseMs: 5_000,
      });
      expect(queued).toEqual([0, 0, 1, 0, 0, expect.any(Number), 0, 1, 1, 0]);
      const second = await rawAcquire({
        holder: 'w2',
        limit: 1,
        attempt: 'a2',
        waiterLeaseMs: 5_000,
      });
      expect(second.slice(7)).toEqual([1, 2, 0]);
      // w1 asks again (a new attempt): it keeps its place, and the record names the new attempt.
      const again = await rawAcquire({
        holder: 'w1',
        limit: 1,
        attempt: 'a3',
        waiterLeaseMs: 5_000,
      });
      expect(again.slice(7)).toEqual([1, 1, 0]);
      expect((await waiterRecord('w1'))?.attempt).toBe('a3');
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['w1', 'w2']);
      expect(await counters()).toEqual({ queued: '2', ticket: '2' });
      expect(await store.usage('m')).toMatchObject({ used: 1, holders: 1, waiting: 2 });
    });

    it('acquire: a waiter that does not fit blocks newcomers; one at its tenant’s share does not', async () => {
      await rawAcquire({ holder: 'h', limit: 2, attempt: 'x' });
      const big = await rawAcquire({
        holder: 'big',
        limit: 2,
        attempt: 'b',
        cost: 2,
        waiterLeaseMs: 5_000,
      });
      expect(big.slice(7)).toEqual([1, 1, 0]);
      // One unit is free, but the heavy waiter ahead waits for it: refused by the model.
      expect(await rawAcquire({ holder: 'small', limit: 2, attempt: 's' })).toEqual([
        0,
        0,
        1,
        0,
        0,
        expect.any(Number),
        0,
        1,
        0,
        0,
      ]);

      // Another gate: a waiter whose tenant is at its share steps aside for other tenants.
      await client.del(...keys());
      const share = { limit: 3, perTenant: 1 };
      await rawAcquire({ holder: 'a1', attempt: 'x', tenant: 'a', ...share });
      const a2 = await rawAcquire({
        holder: 'a2',
        attempt: 'y',
        tenant: 'a',
        waiterLeaseMs: 5_000,
        ...share,
      });
      expect(a2.slice(7)).toEqual([2, 1, 1]);
      const b1 = await rawAcquire({ holder: 'b1', attempt: 'z', tenant: 'b', ...share });
      expect(b1.slice(0, 3)).toEqual([1, 0, 2]);
      expect(b1.slice(7)).toEqual([0, 0, 1]);
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['a2']);
    });

    it('release: { released, stale, currentToken }', async () => {
      const [, , , , , , token] = await rawAcquire({ holder: 'a', limit: 1, attempt: 'x' });
      expect(await rawRelease('a', 'token', String(token - 1))).toEqual([0, 1, token]);
      expect(await rawRelease('a', 'attempt', 'other')).toEqual([0, 1, token]);
      // A plain admission released with nobody waiting: released alone, one integer.
      expect(await rawRelease('a', 'token', String(token))).toBe(1);
      expect(await rawRelease('a')).toEqual([0, 0, 0]);
    });

    it('release: hands the freed units to the queue in order and announces them in one message', async () => {
      const channel = await listen();
      try {
        await rawAcquire({ holder: 'h', limit: 3, attempt: 'x', cost: 3 });
        const wait = { limit: 3, waiterLeaseMs: 5_000 };
        await rawAcquire({ holder: 'w1', attempt: 'a1', ...wait });
        await rawAcquire({ holder: 'w2', attempt: 'a2', tenant: 't', perTenant: 2, ...wait });
        await rawAcquire({ holder: 'w3', attempt: 'a3', cost: 2, ...wait });
        await rawAcquire({ holder: 'w4', attempt: 'a4', ...wait });
        expect(await channel.received()).toEqual([]);

        expect(await rawRelease('h')).toEqual([1, 0, 0]);
        // w1 and w2 fit (2 of 3 units); w3 needs 2 and blocks w4, which would fit.
        const [message, ...more] = await channel.received();
        expect(more).toEqual([]);
        const { admissions } = await readBook();
        const scores = Object.fromEntries(
          await Promise.all(
            ['w1', 'w2'].map(async (w) => [w, await client.zscore(store.keyOf('m'), w)] as const),
          ),
        );
        const tokenOf = (holder: string) => admissions[holder].split(':')[0];
        expect(message).toEqual([
          ['w1', 'a1', tokenOf('w1'), scores.w1, 1, 0],
          ['w2', 'a2', tokenOf('w2'), scores.w2, 2, 1],
        ]);
        expect(admissions.w2).toBe(`${tokenOf('w2')}:a2:1:t`);
        expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['w3', 'w4']);
        expect(await counters()).toEqual({ queued: '2', ticket: '4', 'tenant:t': '1' });

        // Leaving without freeing what a waiter needs, and releasing with nobody queued
        // behind, announce nothing.
        expect(await rawLeave('w4', 'a4')).toEqual([1, 2, 0, 0]);
        expect(await rawLeave('w3', 'a3')).toEqual([1, 1, 0, 0]);
        expect(await rawRelease('w1')).toBe(1);
        expect(await channel.received()).toEqual([]);
        expect(await counters()).toEqual({ ticket: '4', 'tenant:t': '1' });
      } finally {
        await channel.close();
      }
    });

    it('heartbeat: four values per waiter named, and renews each place', async () => {
      await rawAcquire({ holder: 'h', limit: 1, attempt: 'x' });
      await rawAcquire({ holder: 'w1', limit: 1, attempt: 'a1', waiterLeaseMs: 1_000 });
      await rawAcquire({ holder: 'w2', limit: 1, attempt: 'a2', waiterLeaseMs: 1_000 });

      const before = await serverNow();
      expect(
        await rawHeartbeat(60_000, 'w1', 'a1', 'w2', 'a2', 'w2', 'stale', 'ghost', 'g'),
      ).toEqual([1, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      const renewed = (await waiterRecord('w1'))!;
      expect(renewed.deadline).toBeGreaterThanOrEqual(before + 60_000);
      // A stale attempt renews nothing: w2's record is the one its own attempt renewed.
      expect((await waiterRecord('w2'))?.attempt).toBe('a2');

      await rawRelease('h');
      const [state, token, expiresAt, used, ...rest] = await rawHeartbeat(
        60_000,
        'w1',
        'a1',
        'w2',
        'a2',
      );
      expect([state, used]).toEqual([2, 1]);
      expect(token).toBe((await client.hget(store.tokensKeyOf('m'), 'w1'))!.split(':')[0]);
      expect(expiresAt).toBe(Number(await client.zscore(store.keyOf('m'), 'w1')));
      expect(rest).toEqual([1, 1, 0, 0]);
      // Admitted by another attempt: not this call's admission.
      expect(await rawHeartbeat(60_000, 'w1', 'other')).toEqual([0, 0, 0, 0]);
    });

    it('leave: { state, a, b, c } — left with its place, admitted before it could leave, or gone', async () => {
      await rawAcquire({ holder: 'h', limit: 1, attempt: 'x' });
      await rawAcquire({ holder: 'w1', limit: 1, attempt: 'a1', waiterLeaseMs: 5_000 });
      await rawAcquire({ holder: 'w2', limit: 1, attempt: 'a2', waiterLeaseMs: 5_000 });

      // Another attempt of w2 cannot take w2's place out.
      expect(await rawLeave('w2', 'stale')).toEqual([0, 0, 0, 0]);
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['w1', 'w2']);

      expect(await rawLeave('w2', 'a2')).toEqual([1, 2, 0, 0]);
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['w1']);
      expect(await waiterRecord('w2')).toBeUndefined();
      expect(await counters()).toEqual({ queued: '1', ticket: '2' });
      expect(await rawLeave('w2', 'a2')).toEqual([0, 0, 0, 0]);

      await rawRelease('h');
      const token = (await client.hget(store.tokensKeyOf('m'), 'w1'))!.split(':')[0];
      const expiresAt = Number(await client.zscore(store.keyOf('m'), 'w1'));
      expect(await rawLeave('w1', 'a1')).toEqual([2, token, expiresAt, 1]);
      // Reporting it changed nothing: w1 still holds, and the counter of waiters is gone.
      expect(await client.zrange(store.keyOf('m'), 0, -1)).toEqual(['w1']);
      expect(await counters()).toEqual({ ticket: '2' });
    });

    it('leave: a heavy waiter leaving the head lets the ones behind in, announced', async () => {
      const channel = await listen();
      try {
        await rawAcquire({ holder: 'h', limit: 2, attempt: 'x' });
        await rawAcquire({ holder: 'big', limit: 2, attempt: 'b', cost: 2, waiterLeaseMs: 5_000 });
        await rawAcquire({ holder: 'small', limit: 2, attempt: 's', waiterLeaseMs: 5_000 });
        expect(await rawLeave('big', 'b')).toEqual([1, 1, 0, 0]);
        const [message] = await channel.received();
        expect(message).toEqual([['small', 's', expect.any(String), expect.any(String), 2, 0]]);
        expect((await client.zrange(store.keyOf('m'), 0, -1)).sort()).toEqual(['h', 'small']);
        expect(await client.exists(store.queueKeyOf('m'))).toBe(0);
      } finally {
        await channel.close();
      }
    });

    it('extend: { extended, expiresAt, now, stale, currentToken }, and a lost lease stays out', async () => {
      const [, , , , , , token] = await rawAcquire({ holder: 'a', limit: 1, attempt: 'x' });
      const [, book] = keys();
      const [extended, expiresAt, now, stale, current] = await scripts.queueGateExtend(
        store.keyOf('m'),
        book,
        'a',
        9_000,
        '',
      );
      expect([extended, expiresAt, stale, current]).toEqual([1, now + 9_000, 0, token]);
      expect(
        await scripts.queueGateExtend(store.keyOf('m'), book, 'a', 9_000, String(token + 1)),
      ).toEqual([0, 0, expect.any(Number), 1, token]);
      expect(await scripts.queueGateExtend(store.keyOf('m'), book, 'nobody', 9_000, '')).toEqual([
        0,
        0,
        expect.any(Number),
        0,
        0,
      ]);

      await rawAcquire({ holder: 'brief', limit: 0, attempt: 'y', leaseMs: 20, cost: 2 });
      expect(await counters()).toEqual({ extra: '1' });
      await sleep(60);
      expect(await scripts.queueGateExtend(store.keyOf('m'), book, 'brief', 9_000, '')).toEqual([
        0,
        0,
        expect.any(Number),
        0,
        0,
      ]);
      expect(await client.zscore(store.keyOf('m'), 'brief')).toBeNull();
      // The lost lease's units went with it.
      expect(await counters()).toEqual({});
    });

    it('usage: { used, now, holders, waiting, tenantUsed }; holders: { now, [holder, expiresAt, token, cost, tenant, ...] }', async () => {
      const a = await rawAcquire({ holder: 'a', limit: 0, attempt: 'x', leaseMs: 9_000 });
      const b = await rawAcquire({
        holder: 'b',
        limit: 0,
        attempt: 'y',
        cost: 3,
        tenant: 't',
        perTenant: 5,
      });
      const [key, book] = keys();
      expect(await scripts.queueGateUsage(key, book, '')).toEqual([4, expect.any(Number), 2, 0, 0]);
      expect(await scripts.queueGateUsage(key, book, 't')).toEqual([
        4,
        expect.any(Number),
        2,
        0,
        3,
      ]);
      expect(await scripts.queueGateUsage(key, book, 'other')).toEqual([
        4,
        expect.any(Number),
        2,
        0,
        0,
      ]);
      expect(await scripts.queueGateHolders(key, book)).toEqual([
        expect.any(Number),
        ['b', String(b[4]), String(b[6]), 3, 't', 'a', String(a[4]), String(a[6]), 1, ''],
      ]);
    });

    it('reconcile: { added, removed, used }, also for long lists', async () => {
      await rawAcquire({ holder: 'old', limit: 0, attempt: 'x', cost: 2, tenant: 't' });
      // Far more arguments than Lua's unpack could take at once.
      const ids = Array.from({ length: 10_000 }, (_, i) => `task-${i}`);
      expect(
        await scripts.queueGateReconcile(
          ...keys(),
          ...announce(),
          5_000,
          '',
          ids.length,
          ...ids,
          'all',
        ),
      ).toEqual([10_000, 1, 10_000]);
      expect(await client.zcard(store.keyOf('m'))).toBe(10_000);
      // The weighted tenant's holder took its units with it.
      expect(await counters()).toEqual({});

      // 'listed' removes only the unlisted holders named after it, as (holder, token) pairs.
      expect(
        await scripts.queueGateReconcile(
          ...keys(),
          ...announce(),
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

  describe('counters in the book', () => {
    it('an ended weighted tenant’s lease is reclaimed with its units; a tenant’s counter at 0 leaves the book, the gate’s stay at 0', async () => {
      const share = { limit: 10, perTenant: 5 };
      await rawAcquire({
        holder: 'brief',
        attempt: 'b',
        cost: 3,
        tenant: 't',
        leaseMs: 50,
        ...share,
      });
      await rawAcquire({
        holder: 'long',
        attempt: 'l',
        cost: 2,
        tenant: 't',
        leaseMs: HOUR,
        ...share,
      });
      await rawAcquire({ holder: 'plain', attempt: 'p', cost: 2, leaseMs: 50, ...share });
      expect(await counters()).toEqual({ extra: '4', 'tenant:t': '5' });
      expect(await store.usage('m', 't')).toMatchObject({ used: 7, holders: 3, tenantUsed: 5 });

      await sleep(100);
      // Usage only reads: it leaves the ended leases out without removing them.
      expect(await store.usage('m', 't')).toMatchObject({ used: 2, holders: 1, tenantUsed: 2 });
      expect(await counters()).toEqual({ extra: '4', 'tenant:t': '5' });

      // The next acquire reclaims both, counters included, and then counts its own units.
      const next = await rawAcquire({
        holder: 'next',
        attempt: 'n',
        cost: 1,
        tenant: 't',
        ...share,
      });
      expect(next.slice(0, 4)).toEqual([1, 0, 3, 2]);
      expect(next[9]).toBe(3);
      expect(await counters()).toEqual({ extra: '1', 'tenant:t': '3', reclaimed: '2' });

      await rawRelease('long');
      expect(await counters()).toEqual({ 'tenant:t': '1', reclaimed: '2' });
      await rawRelease('next');
      const book = await readBook();
      // The leak count outlives the holders: it lasts as long as the book.
      expect(book.counters).toEqual({
        extra: '0',
        queued: '0',
        reclaimed: '2',
        keyEnd: expect.any(String),
        oldest: expect.any(String),
      });
      expect(Object.keys(book.admissions)).toEqual(['']);
    });

    it('the heartbeat reclaims an ended weighted lease and hands its units to the waiter', async () => {
      const channel = await listen();
      try {
        await rawAcquire({ holder: 'brief', limit: 3, attempt: 'b', cost: 3, leaseMs: 100 });
        await rawAcquire({
          holder: 'w',
          limit: 3,
          attempt: 'a',
          cost: 2,
          tenant: 't',
          perTenant: 2,
          waiterLeaseMs: 5_000,
        });
        expect(await counters()).toEqual({ extra: '2', queued: '1', ticket: '1' });
        await sleep(150);
        const [state, token, , used] = await rawHeartbeat(5_000, 'w', 'a');
        expect([state, used]).toEqual([2, 2]);
        expect(await channel.received()).toEqual([[['w', 'a', token, expect.any(String), 2, 2]]]);
        expect(await counters()).toEqual({
          extra: '1',
          'tenant:t': '2',
          ticket: '1',
          reclaimed: '1',
        });
        expect(await client.zrange(store.keyOf('m'), 0, -1)).toEqual(['w']);
      } finally {
        await channel.close();
      }
    });
  });

  describe('a waiter whose heartbeat lapsed', () => {
    /** h holds the one slot; 'dead' queued first with a brief place, 'live' and 'third' behind. */
    async function lapsedHead(): Promise<void> {
      await rawAcquire({ holder: 'h', limit: 1, attempt: 'x' });
      await rawAcquire({ holder: 'dead', limit: 1, attempt: 'd', waiterLeaseMs: 100 });
      await rawAcquire({ holder: 'live', limit: 1, attempt: 'l', waiterLeaseMs: 60_000 });
      await rawAcquire({ holder: 'third', limit: 1, attempt: 't', waiterLeaseMs: 60_000 });
      await sleep(150);
      // Nothing walked the queue since: usage still counts the lapsed waiter.
      expect(await store.usage('m')).toMatchObject({ waiting: 3 });
      expect(await waiterRecord('dead')).toBeDefined();
    }

    it.each<[string, () => Promise<unknown>, string[]]>([
      [
        'a newcomer’s acquire that finds a unit free under its limit',
        () => rawAcquire({ holder: 'n', limit: 2, attempt: 'n' }),
        ['live', 'third'],
      ],
      ['another waiter’s heartbeat', () => rawHeartbeat(60_000, 'third', 't'), ['live', 'third']],
      ['another waiter leaving', () => rawLeave('third', 't'), ['live']],
    ])('is dropped from the queue by %s', async (_, walk, queue) => {
      await lapsedHead();
      await walk();
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(queue);
      expect(await waiterRecord('dead')).toBeUndefined();
      expect((await counters()).queued).toBe(String(queue.length));
      // Its heartbeat, should it come back, finds its place gone; 'live' is now next.
      expect(await rawHeartbeat(60_000, 'dead', 'd', 'live', 'l')).toEqual([
        0, 0, 0, 0, 1, 1, 0, 0,
      ]);
    });

    it('is left alone by a newcomer on a full gate: with no unit free, nothing walks the queue', async () => {
      await lapsedHead();
      const [admitted, , , , , , , refusedBy] = await rawAcquire({
        holder: 'n',
        limit: 1,
        attempt: 'n',
      });
      expect([admitted, refusedBy]).toEqual([0, 1]);
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['dead', 'live', 'third']);
    });

    it('does not take the units a release frees: the live waiter behind it does', async () => {
      await lapsedHead();
      await rawRelease('h');
      expect(await client.zrange(store.keyOf('m'), 0, -1)).toEqual(['live']);
      expect(await client.zrange(store.queueKeyOf('m'), 0, -1)).toEqual(['third']);
      expect(await counters()).toEqual({ queued: '1', ticket: '3' });
    });
  });
});
