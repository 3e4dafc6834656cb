import type { Redis } from 'ioredis';
import { GateUnavailableError } from '../../src/core/errors/gate-unavailable.error';
import type { AcquireResult } from '../../src/core/gate-results';
import type { AcquireRequest } from '../../src/core/gate-store';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { eventually, sleep } from '../support/eventually';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from '../support/test-redis';
import { startWaitingChildren, type WaitingChild } from '../support/waiting-children';
import type { WaitingGateConfig, WaitingOutcome } from '../support/waiting-protocol';

const MODEL = 'm';

/**
 * Waiting acquires across application instances that are separate processes, each with its own
 * QueueGate, Redis connections and subscription, on the run's Redis: arrival order holds across
 * them, a waiter whose process died stops blocking the queue within its waiter lease, and a
 * waiter that gives up (abort, deadline) in one process does not block one in another.
 */
describe('waiting across processes', () => {
  let children: WaitingChild[] = [];
  let client: Redis;
  let prefix: string;
  const gates: QueueGate[] = [];
  const connections: Redis[] = [];

  beforeAll(async () => {
    children = await startWaitingChildren(3);
  }, 20_000);

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
  });

  beforeEach(() => {
    prefix = uniquePrefix('waiting-processes');
    client = newRedis();
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((gate) => gate.close(0)));
    await Promise.all(connections.splice(0).map((connection) => closeClient(connection)));
    await dropKeys(client, prefix);
    await closeClient(client);
  });

  function config(limit: number, waiterLeaseMs: number): WaitingGateConfig {
    return { redisUrl: testRedisUrl(), prefix, limits: { [MODEL]: limit }, waiterLeaseMs };
  }

  /** This process's own gate instance, with its own connection. */
  function parentGate({ limits, waiterLeaseMs }: WaitingGateConfig): QueueGate {
    const connection = client.duplicate();
    connections.push(connection);
    const gate = new QueueGate(new RedisGateStore(connection, prefix), {
      limits,
      waiting: { waiterLeaseMs },
      commandTimeoutMs: 10_000,
    });
    gates.push(gate);
    return gate;
  }

  async function waitingIs(gate: QueueGate, count: number): Promise<void> {
    await eventually(async () => expect((await gate.usage(MODEL)).waiting).toBe(count), {
      timeoutMs: 10_000,
    });
  }

  /** The result of an outcome that must not be an error. */
  function resultOf(outcome: WaitingOutcome): AcquireResult {
    if ('error' in outcome) {
      throw new Error(
        `acquire ${outcome.id} threw ${outcome.error.name}: ${outcome.error.message}`,
      );
    }
    return outcome.result;
  }

  /** A waiter's record in the book: its heartbeat deadline and lease, by the server's clock. */
  async function waiterRecord(holder: string) {
    const field = Buffer.concat([Buffer.from([0xff]), Buffer.from(`w${holder}`)]);
    const record = await client.hget(new RedisGateStore(client, prefix).tokensKeyOf(MODEL), field);
    if (record === null) return undefined;
    const [deadline, leaseMs] = record.split(':').map(Number);
    return { deadline, leaseMs };
  }

  async function serverNow(): Promise<number> {
    const [seconds, micros] = await client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('admits waiters of 3 processes in their arrival order (by fencing token)', async () => {
    const gateConfig = config(2, 3_000);
    await Promise.all(children.map((child) => child.configure(gateConfig)));
    const gate = parentGate(gateConfig);
    const holders = [
      await gate.acquire(MODEL, { taskId: 'h1' }),
      await gate.acquire(MODEL, { taskId: 'h2' }),
    ];
    expect(holders.map((h) => h.acquired)).toEqual([true, true]);

    // Interleaved, not round robin: which process sends the next waiter says nothing of its place.
    const senders = [0, 2, 1, 1, 0, 2, 2, 0, 1, 0, 2, 1];
    const arrivals: string[] = [];
    const outcomes: Promise<WaitingOutcome>[] = [];
    for (const [i, k] of senders.entries()) {
      const taskId = `w${i}-p${k}`;
      arrivals.push(taskId);
      outcomes.push(
        children[k].acquire({ model: MODEL, taskId, waitMs: 20_000, holdMs: 25 }).outcome,
      );
      // Queued in the store before the next one is sent: the arrival order is known.
      await waitingIs(gate, i + 1);
      await sleep(20);
    }

    for (const held of holders) await gate.release(MODEL, held.taskId, { token: held.token! });
    const results = (await Promise.all(outcomes)).map((outcome) => {
      expect(outcome).toMatchObject({ released: true });
      return resultOf(outcome);
    });
    for (const result of results) {
      expect(result).toMatchObject({ acquired: true, refusedBy: null, position: null });
      expect(result.token).toBeGreaterThan(Math.max(...holders.map((h) => h.token!)));
    }
    const admitted = [...results].sort((a, b) => a.token! - b.token!).map((r) => r.taskId);
    expect(admitted).toEqual(arrivals);
    expect(await gate.usage(MODEL)).toMatchObject({ used: 0, waiting: 0 });
  }, 30_000);

  it('stops blocking the queue with a waiter whose process was killed, once its waiter lease lapses', async () => {
    const waiterLeaseMs = 600;
    const gateConfig = config(2, waiterLeaseMs);
    // A child of its own: this one is killed.
    const [doomed] = await startWaitingChildren(1);
    try {
      await doomed.configure(gateConfig);
      const gate = parentGate(gateConfig);
      const held = await gate.acquire(MODEL, { taskId: 'holder' });
      expect(held.acquired).toBe(true);

      // The dead-to-be waiter needs both units; the parent's waiter behind it needs one.
      const dead = doomed.acquire({ model: MODEL, taskId: 'dead', waitMs: 60_000, cost: 2 });
      await waitingIs(gate, 1);
      let admittedAt: number | undefined;
      const behind = gate.acquire(MODEL, { taskId: 'behind', waitMs: 20_000 }).then((result) => {
        admittedAt = Date.now();
        return result;
      });
      await waitingIs(gate, 2);

      // While the head lives, it holds back even the free unit: the order is real.
      const newcomer = await gate.acquire(MODEL, { taskId: 'newcomer' });
      expect(newcomer).toMatchObject({ acquired: false, refusedBy: 'model' });
      await sleep(3 * waiterLeaseMs);
      expect(admittedAt).toBeUndefined();
      expect((await waiterRecord('dead'))?.deadline).toBeDefined();
      const { leaseMs } = (await waiterRecord('behind'))!;

      await doomed.kill();
      const killedAt = await serverNow();
      expect('error' in (await dead.outcome)).toBe(true);
      // Its last heartbeat came before the kill: its place lapses within a waiter lease of it.
      const lapses = (await waiterRecord('dead'))!.deadline;
      expect(lapses).toBeLessThanOrEqual(killedAt + waiterLeaseMs);

      const result = await behind;
      expect(result).toMatchObject({ acquired: true, cost: 1, used: 2 });
      // Admitted by the store's clock only after the dead waiter's place lapsed, and soon after.
      const admittedByStore = result.expiresAt! - leaseMs;
      expect(admittedByStore).toBeGreaterThanOrEqual(lapses);
      expect(admittedByStore).toBeLessThanOrEqual(lapses + 5_000);
      expect((await gate.holders(MODEL)).map((h) => h.taskId).sort()).toEqual(['behind', 'holder']);
      expect(await gate.usage(MODEL)).toMatchObject({ used: 2, waiting: 0 });
    } finally {
      await doomed.stop();
    }
  }, 30_000);

  it('does not let a waiter that gave up in one process (abort, deadline) block one in another', async () => {
    // A waiter lease far longer than the test: only leaving the queue can explain what follows.
    const gateConfig = config(1, 20_000);
    const [aborting, timingOut] = children;
    await Promise.all([aborting.configure(gateConfig), timingOut.configure(gateConfig)]);
    const gate = parentGate(gateConfig);
    const held = await gate.acquire(MODEL, { taskId: 'holder' });

    const first = aborting.acquire({
      model: MODEL,
      taskId: 'aborted',
      waitMs: 60_000,
      abortable: true,
    });
    await waitingIs(gate, 1);
    const second = timingOut.acquire({ model: MODEL, taskId: 'timed-out', waitMs: 1_500 });
    await waitingIs(gate, 2);
    const third = gate.acquire(MODEL, { taskId: 'patient', waitMs: 20_000 });
    await waitingIs(gate, 3);

    aborting.abort(first.id);
    expect(await first.outcome).toMatchObject({ error: { name: 'AcquireAbortedError' } });
    expect(resultOf(await second.outcome)).toMatchObject({
      acquired: false,
      refusedBy: 'model',
      position: expect.any(Number),
    });
    await waitingIs(gate, 1);

    // The release hands the slot on in the same step: to the waiter still queued, no other.
    expect(await gate.release(MODEL, 'holder', { token: held.token! })).toBe(true);
    expect((await gate.holders(MODEL)).map((h) => h.taskId)).toEqual(['patient']);
    expect(await third).toMatchObject({ acquired: true, taskId: 'patient' });
    expect(await gate.usage(MODEL)).toMatchObject({ used: 1, waiting: 0 });
  }, 30_000);

  /*
   * An instance whose waiting acquire lost its answer (a Redis stall past the command timeout,
   * a dropped connection) queues a release fenced to that acquire's attempt, to undo whatever it
   * may have been given. When the acquire ran and only queued the waiter, that release finds no
   * admission and lands as a no-op: the waiter stays queued until its waiter lease lapses, and a
   * slot that frees meanwhile is handed to it, with a full task lease, for a call that has
   * already failed. Nobody releases it: the slot leaks until the lease ends (an hour by default).
   */
  it('leaks no slot to a waiting acquire whose answer was lost (its undo lands before the waiter is admitted)', async () => {
    // A waiter lease far longer than the test: the lost call's place cannot simply lapse.
    const gateConfig = config(1, 20_000);
    const connection = client.duplicate();
    connections.push(connection);
    const real = new RedisGateStore(connection, prefix);
    // The store runs every acquire, but the answer of a waiting one comes too late.
    const slowAnswers = new Proxy(real, {
      get: (target, property, receiver) =>
        property === 'acquire'
          ? async (request: AcquireRequest) => {
              const reply = await target.acquire(request);
              if (request.waiterLeaseMs) await sleep(1_000);
              return reply;
            }
          : Reflect.get(target, property, receiver),
    });
    const gate = new QueueGate(slowAnswers, {
      limits: gateConfig.limits,
      waiting: { waiterLeaseMs: gateConfig.waiterLeaseMs },
      commandTimeoutMs: 300,
    });
    gates.push(gate);
    const other = parentGate(gateConfig);

    const held = await other.acquire(MODEL, { taskId: 'holder' });
    await expect(gate.acquire(MODEL, { taskId: 'lost', waitMs: 10_000 })).rejects.toBeInstanceOf(
      GateUnavailableError,
    );
    // The undo, fenced to the lost call's attempt, lands (it finds nothing admitted yet).
    await eventually(() => expect(gate.pendingReleases().queued).toBe(0));
    expect(await other.usage(MODEL)).toMatchObject({ used: 1 });

    // The slot frees within the lost call's waiter lease: it must not go to the failed call.
    await other.release(MODEL, 'holder', { token: held.token! });
    const holders = await other.holders(MODEL);
    expect(holders.map((h) => h.taskId)).toEqual([]);
  }, 20_000);
});
