import { Redis } from 'ioredis';
import { QueueGate, type QueueGateConfig } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { sleep } from '../support/eventually';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

/**
 * One test per defect of a naive Lua gate (DESIGN.md §2). Each states what such a gate did
 * and asserts the opposite, so a naive gate's behaviour fails it. Leases are shortened through
 * the lease policy; the long end allows leases longer than any margin a key might be given.
 */
const LEASE = { minSeconds: 0.2, maxSeconds: 72 * 3600, multiplier: 1 };
const HOURS = 3600;

/** The Redis server's clock in ms: the one clock every instance must share. */
async function serverNow(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('defects of a naive Lua gate, on the shared test Redis', () => {
  let client: Redis;
  let prefix: string;
  let gates: QueueGate[];

  beforeAll(() => {
    client = newRedis();
  });

  beforeEach(() => {
    prefix = uniquePrefix('naive-defects');
    gates = [];
  });

  afterEach(async () => {
    jest.useRealTimers();
    await Promise.all(gates.map((gate) => gate.close(0)));
    await dropKeys(client, prefix);
  });

  afterAll(async () => {
    await closeClient(client);
  });

  /** A gate as one instance of the application would build it. */
  function newGate(config: QueueGateConfig = {}): QueueGate {
    const gate = new QueueGate(new RedisGateStore(client, prefix), { lease: LEASE, ...config });
    gates.push(gate);
    return gate;
  }

  describe('1. the key expiry must not drop live slots', () => {
    // A naive gate set the key's TTL from the latest task's lease (+60 s): a short task after a
    // long one made the key, and the long task's slot with it, vanish while that task ran.
    it('still counts a long holder after a later short lease ended', async () => {
      const gate = newGate({ defaultLimit: 2 });
      const long = await gate.acquire('m', { expectedSeconds: 30 * HOURS });
      const short = await gate.acquire('m', { expectedSeconds: 0.2 });
      expect([long.acquired, short.acquired]).toEqual([true, true]);

      // The key must outlive the long lease, not the latest (short) one plus a margin.
      const key = new RedisGateStore(client, prefix).keyOf('m');
      expect(await client.pexpiretime(key)).toBeGreaterThanOrEqual(long.expiresAt!);

      await sleep(400);
      expect((await gate.usage('m')).used).toBe(1);
      expect((await gate.holders('m')).map((h) => h.taskId)).toEqual([long.taskId]);
      expect((await gate.acquire('m')).acquired).toBe(true);
      expect(await gate.acquire('m')).toMatchObject({ acquired: false, used: 2 });
    });
  });

  describe('2. leases are measured on the Redis clock, not the client clock', () => {
    const realNow = Date.now.bind(Date);

    /** Sets this process's clock `offsetMs` away from the real time; it keeps ticking. */
    function skewClock(offsetMs: number): void {
      jest.useFakeTimers({
        // Only the clock is faked: timers stay real, so ioredis and the deadlines work.
        doNotFake: [
          'hrtime',
          'nextTick',
          'performance',
          'queueMicrotask',
          'setImmediate',
          'clearImmediate',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
        ],
        advanceTimers: true,
      });
      jest.setSystemTime(realNow() + offsetMs);
    }

    it.each([
      ['ahead', 3 * HOURS * 1000],
      ['behind', -3 * HOURS * 1000],
    ])(
      'gives a lease measured from Redis TIME when the client clock is hours %s',
      async (_, skew) => {
        const gate = newGate({ defaultLimit: 5 });
        skewClock(skew);
        expect(Math.abs(Date.now() - realNow() - skew)).toBeLessThan(60_000);

        const before = await serverNow(client);
        const result = await gate.acquire('m', { expectedSeconds: 5 });
        const after = await serverNow(client);
        expect(result.expiresAt).toBeGreaterThanOrEqual(before + 5_000);
        expect(result.expiresAt).toBeLessThanOrEqual(after + 5_000);

        const [holder] = await gate.holders('m');
        expect(holder.expiresAt).toBe(result.expiresAt);
      },
    );

    it('does not let a client whose clock is hours ahead steal a live slot', async () => {
      // A naive gate reclaimed "expired" slots up to the caller's now: hours ahead, every slot.
      const honest = newGate({ defaultLimit: 1 });
      const skewed = newGate({ defaultLimit: 1 });
      const held = await honest.acquire('m', { expectedSeconds: 5 });

      skewClock(3 * HOURS * 1000);
      expect(await skewed.acquire('m')).toMatchObject({ acquired: false, used: 1, reclaimed: 0 });
      expect((await skewed.holders('m')).map((h) => h.taskId)).toEqual([held.taskId]);
    });

    it('does not let a slot taken by a client hours behind be stolen at once', async () => {
      // A naive gate scored the slot on the taker's clock: hours behind, it was born expired.
      const skewed = newGate({ defaultLimit: 1 });
      const honest = newGate({ defaultLimit: 1 });
      skewClock(-3 * HOURS * 1000);
      const held = await skewed.acquire('m', { expectedSeconds: 5 });
      jest.useRealTimers();

      expect(await honest.acquire('m')).toMatchObject({ acquired: false, used: 1, reclaimed: 0 });
      expect((await honest.holders('m')).map((h) => h.taskId)).toEqual([held.taskId]);
    });

    it('ends a short lease taken by a client hours ahead on time', async () => {
      // A naive gate scored it hours into the future: the slot stayed taken for hours.
      const skewed = newGate({ defaultLimit: 1 });
      const honest = newGate({ defaultLimit: 1 });
      skewClock(3 * HOURS * 1000);
      expect((await skewed.acquire('m', { expectedSeconds: 0.2 })).acquired).toBe(true);
      jest.useRealTimers();

      await sleep(400);
      expect(await honest.acquire('m')).toMatchObject({ acquired: true, used: 1, reclaimed: 1 });
    });
  });

  describe('3. a task that acquires again keeps its one slot', () => {
    it('answers a duplicate acquire "already held" with one slot', async () => {
      const gate = newGate({ defaultLimit: 5 });
      const first = await gate.acquire('m', { taskId: 'task-1' });
      const again = await gate.acquire('m', { taskId: 'task-1' });
      expect(first).toMatchObject({ acquired: true, alreadyHeld: false, used: 1 });
      expect(again).toMatchObject({ acquired: true, alreadyHeld: true, used: 1 });
      expect((await gate.usage('m')).used).toBe(1);
    });

    it('answers a holder on a full gate "held", not "full"', async () => {
      // A naive gate compared with the limit before looking for the task: a full gate refused
      // the retry of a task that already held one of its slots.
      const gate = newGate({ defaultLimit: 1 });
      await gate.acquire('m', { taskId: 'task-1' });
      const retry = await gate.reacquire('m', 'task-1');
      expect(retry).toMatchObject({ acquired: true, alreadyHeld: true, used: 1 });
      expect(await gate.acquire('m', { taskId: 'task-2' })).toMatchObject({
        acquired: false,
        used: 1,
      });
    });
  });

  describe('4. tasks admitted while unlimited are still counted', () => {
    // A naive gate returned "admitted" without recording anything when limit <= 0.
    it('counts them once a limit is set', async () => {
      const gate = newGate();
      expect((await gate.acquire('m')).acquired).toBe(true);
      expect((await gate.acquire('m', { limit: null })).acquired).toBe(true);
      expect((await gate.acquire('m', { limit: 0 })).acquired).toBe(true);

      expect(await gate.acquire('m', { limit: 3 })).toMatchObject({ acquired: false, used: 3 });
      expect((await newGate({ limits: { m: 3 } }).usage('m')).available).toBe(0);
    });
  });

  describe('7. a gate whose Redis data was lost can be rebuilt', () => {
    it('under-counts after the key is lost, and reconcile restores the limit', async () => {
      const gate = newGate({ defaultLimit: 3 });
      const active = ['task-1', 'task-2', 'task-3'];
      for (const taskId of active) await gate.acquire('m', { taskId });

      // Redis loses the gate (a restart without persistence, a failover) behind its back.
      await client.del(new RedisGateStore(client, prefix).keyOf('m'));
      expect((await gate.usage('m')).used).toBe(0);
      // ...so one more task gets in while three still run: four are active now.
      expect((await gate.acquire('m', { taskId: 'task-4' })).acquired).toBe(true);
      active.push('task-4');

      // The database knows the truth.
      expect(await gate.reconcile('m', active)).toEqual({
        model: 'm',
        added: 3,
        removed: 0,
        used: 4,
      });
      expect((await gate.holders('m')).map((h) => h.taskId).sort()).toEqual(active);

      // Over the limit: nobody gets in until enough tasks leave.
      expect(await gate.acquire('m', { taskId: 'task-5' })).toMatchObject({
        acquired: false,
        used: 4,
      });
      await gate.release('m', 'task-1');
      expect((await gate.acquire('m', { taskId: 'task-5' })).acquired).toBe(false);
      await gate.release('m', 'task-2');
      expect(await gate.acquire('m', { taskId: 'task-5' })).toMatchObject({
        acquired: true,
        used: 3,
      });
    });
  });
});

describe('5. scripts are sent by hash (EVALSHA), on a private Redis', () => {
  // SCRIPT FLUSH and CONFIG RESETSTAT act on the whole server: never on the shared one.
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = newRedis(server.url);
  });

  afterAll(async () => {
    await closeClient(admin);
    await server.stop();
  });

  /** Calls and failures of each command, from Redis's own statistics. */
  async function commandStats(): Promise<Record<string, { calls: number; failed: number }>> {
    const info = await admin.info('commandstats');
    const stats: Record<string, { calls: number; failed: number }> = {};
    for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+).*?failed_calls=(\d+)/gm)) {
      stats[match[1]] = { calls: Number(match[2]), failed: Number(match[3]) };
    }
    return stats;
  }

  const calls = (stats: Record<string, { calls: number }>, command: string) =>
    stats[command]?.calls ?? 0;

  it('uses EVALSHA for repeated calls, and falls back to EVAL once after SCRIPT FLUSH', async () => {
    const client = newRedis(server.url);
    const prefix = uniquePrefix('evalsha');
    const gate = new QueueGate(new RedisGateStore(client, prefix), {
      lease: LEASE,
      defaultLimit: 1,
    });
    try {
      await admin.config('RESETSTAT');
      const rounds = 20;
      for (let i = 0; i < rounds; i++) {
        const { acquired, taskId } = await gate.acquire('m');
        expect(acquired).toBe(true);
        expect(await gate.release('m', taskId)).toBe(true);
      }
      // EVAL per call would ship the script text 40 times here. ioredis sends each script's
      // text (acquire, release) at most once per connection, then its hash.
      let stats = await commandStats();
      expect(calls(stats, 'eval')).toBeLessThanOrEqual(2);
      expect(calls(stats, 'evalsha')).toBeGreaterThanOrEqual(2 * rounds - 2);

      // The server forgets its scripts: the next EVALSHA gets NOSCRIPT and is retried as EVAL.
      await admin.script('FLUSH');
      await admin.config('RESETSTAT');
      for (let i = 0; i < rounds; i++) {
        expect((await gate.acquire('m', { taskId: `task-${i}` })).acquired).toBe(true);
        expect(await gate.release('m', `task-${i}`)).toBe(true);
      }
      stats = await commandStats();
      expect(stats.evalsha.failed).toBeGreaterThanOrEqual(1);
      expect(await admin.info('errorstats')).toMatch(/errorstat_NOSCRIPT:count=[1-9]/);
      expect(calls(stats, 'eval')).toBeLessThanOrEqual(2);
      expect(calls(stats, 'evalsha')).toBeGreaterThanOrEqual(2 * rounds);
    } finally {
      await gate.close(0);
      await dropKeys(client, prefix);
      await closeClient(client);
    }
  });
});
