import { Redis, type RedisOptions } from 'ioredis';
import {
  AcquireAbortedError,
  type AcquireResult,
  GateUnavailableError,
  QueueGate,
  type QueueGateConfig,
  RedisGateStore,
} from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { eventually, sleep } from '../support/eventually';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { closeClient, uniquePrefix } from '../support/test-redis';

const MODEL = 'm';
const HOUR_LEASE = { minSeconds: 3600, maxSeconds: 3600 };
/** Shorter than every pause below, so a paused call of a "fast" instance times out. */
const TIMEOUT_MS = 200;
/** Longer than every pause below, so a call of a "patient" instance waits the pause out. */
const PATIENT_TIMEOUT_MS = 5_000;
const QUICK_RETRIES = { initialDelayMs: 50, maxDelayMs: 200 };

/** Callers told they hold a slot and not yet releasing it: never more than the limit. */
class Holding {
  now = 0;
  most = 0;

  admitted(result: AcquireResult): AcquireResult {
    if (result.acquired) this.most = Math.max(this.most, ++this.now);
    return result;
  }

  /** Called before the release is sent: the next admission may come before its answer. */
  releasing(): void {
    this.now--;
  }
}

/**
 * What faults do to the slots of the waiting path (`waitMs`), on a private Redis: these tests
 * pause it, kill its connections, flush its scripts and restart it, which must not disturb other
 * test files. After each fault: no over-admission (Redis never counts more units or holders than
 * the limit, and where several waiters are admitted, no two callers are told they hold at once),
 * and no leak (once the queued releases have landed: 0 units used, 0 waiters, 0 releases
 * queued).
 */
describe('waiting acquires under faults (private Redis)', () => {
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  const clients: Redis[] = [];
  const gates: QueueGate[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url, { maxRetriesPerRequest: null });
    admin.on('error', () => undefined); // reconnects after the restart test
  });

  beforeEach(() => {
    prefix = uniquePrefix('waiting-faults');
  });

  afterEach(async () => {
    // Blocks until a pause still running ends (UNPAUSE is paused too), so no test starts paused.
    await admin.call('CLIENT', 'UNPAUSE');
    await Promise.all(gates.splice(0).map((gate) => gate.close(0)));
    await Promise.all(clients.splice(0).map(closeClient));
  });

  afterAll(async () => {
    await closeClient(admin);
    await server.stop();
  });

  /** A gate as one application instance has it: its own connection, subscriber and queue. */
  function instance(config: QueueGateConfig = {}, clientOptions: RedisOptions = {}) {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, ...clientOptions });
    client.on('error', () => undefined);
    const logger = new CapturedLogger();
    const gate = new QueueGate(new RedisGateStore(client, prefix), {
      lease: HOUR_LEASE,
      limits: { [MODEL]: 1 },
      commandTimeoutMs: TIMEOUT_MS,
      pendingReleases: QUICK_RETRIES,
      logger,
      ...config,
    });
    clients.push(client);
    gates.push(gate);
    return { client, gate, logger };
  }

  /** An instance that waits faults out: it reads the gate's state and holds the blocking slot. */
  function patient(config: QueueGateConfig = {}) {
    return instance({ commandTimeoutMs: PATIENT_TIMEOUT_MS, ...config });
  }

  /** Stalls every client of the server for `ms`, as a slow or overloaded Redis does. */
  async function pause(ms: number): Promise<void> {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  }

  async function waitingIs(observer: QueueGate, count: number): Promise<void> {
    await eventually(async () => expect((await observer.usage(MODEL)).waiting).toBe(count), {
      timeoutMs: 5_000,
    });
  }

  /**
   * No leak: every release the instances queued has landed, and the gate holds nothing and
   * queues nobody, by Redis' count and by its holders.
   */
  async function expectNoLeak(observer: QueueGate, instances: QueueGate[]): Promise<void> {
    await eventually(
      async () => {
        for (const gate of instances) expect(gate.pendingReleases().queued).toBe(0);
        expect(await observer.usage(MODEL)).toMatchObject({ used: 0, holders: 0, waiting: 0 });
        expect(await observer.holders(MODEL)).toEqual([]);
      },
      { timeoutMs: 8_000 },
    );
  }

  /** Redis never counts more units or holders than the limit. */
  async function expectWithinLimit(observer: QueueGate, limit = 1): Promise<void> {
    const usage = await observer.usage(MODEL);
    expect(usage.used).toBeLessThanOrEqual(limit);
    expect((await observer.holders(MODEL)).length).toBeLessThanOrEqual(limit);
  }

  /** A waiter's record in the gate's book: the deadline of its place, by the server's clock. */
  async function placeDeadline(holder: string): Promise<number | undefined> {
    const field = Buffer.concat([Buffer.from([0xff]), Buffer.from(`w${holder}`)]);
    const record = await admin.hgetBuffer(`${prefix}{${MODEL}}:tokens`, field);
    return record === null ? undefined : Number(record.toString().split(':')[0]);
  }

  async function serverNow(): Promise<number> {
    const [seconds, micros] = await admin.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Connections the server has open. */
  async function connections(): Promise<number> {
    return String(await admin.call('CLIENT', 'LIST'))
      .trim()
      .split('\n').length;
  }

  /** The server's id of a client's (main) connection. */
  async function connectionId(client: Redis): Promise<string> {
    return String(await client.client('ID'));
  }

  describe('(a) Redis paused when a waiter deadline hits', () => {
    /**
     * Limit 1: `holder` holds on a patient instance, `w` waits 600 ms on a fast one. Redis is
     * paused 1.2 s at 350 ms, so the deadline (600 ms) hits while it is paused: the leave is
     * sent but cannot land within the 200 ms command timeout.
     */
    async function waiterDeadlineInPause(
      fast: ReturnType<typeof instance>,
      observer: QueueGate,
      duringPause: () => void = () => undefined,
    ) {
      const started = performance.now();
      const waiting = fast.gate.acquire(MODEL, { taskId: 'w', waitMs: 600 });
      const failure = waiting.then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitingIs(observer, 1);
      await sleep(Math.max(0, 350 - (performance.now() - started)));
      await pause(1_200);
      duringPause();
      const error = await failure;
      return { error, afterMs: performance.now() - started };
    }

    it('throws GateUnavailableError, queues a release fenced to the attempt, and the waiter was never admitted', async () => {
      const observer = patient().gate;
      const fast = instance();
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const { error, afterMs } = await waiterDeadlineInPause(fast, observer);
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(error).toMatchObject({ operation: 'acquire' });
      // The deadline (600 ms) plus one command timeout, not the pause's end.
      expect(afterMs).toBeLessThan(600 + TIMEOUT_MS + 300);
      expect(fast.gate.pendingReleases().queued).toBe(1);

      // After the pause the leave lands (the waiter is out of the queue) and the queued
      // release finds nothing to free: the holder still holds, alone.
      await eventually(() => expect(fast.gate.pendingReleases().queued).toBe(0), {
        timeoutMs: 5_000,
      });
      expect(await observer.usage(MODEL)).toMatchObject({ used: 1, waiting: 0 });
      expect(await observer.holders(MODEL)).toEqual([
        expect.objectContaining({ taskId: 'holder', token: holder.token }),
      ]);
      await observer.release(MODEL, 'holder', { token: holder.token! });
      await expectNoLeak(observer, [fast.gate, observer]);
    });

    it('frees the slot the waiter was handed during the pause, through the queued release', async () => {
      const observer = patient().gate;
      const fast = instance();
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      let released: Promise<boolean> | undefined;
      // The holder's release is sent while Redis is paused, before the waiter's leave: when the
      // pause ends it runs first and hands the slot to the waiter, who has already given up.
      const { error } = await waiterDeadlineInPause(fast, observer, () => {
        released = observer.release(MODEL, 'holder', { token: holder.token! });
      });
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(await released).toBe(true);
      await expectWithinLimit(observer);
      // The queued release, fenced to the waiter's attempt, frees what it was handed.
      await expectNoLeak(observer, [fast.gate, observer]);
      expect(fast.gate.pendingReleases()).toMatchObject({ queued: 0, stale: 0, dropped: 0 });
    });

    it('never frees a newer admission of the same task id made by another instance', async () => {
      const observer = patient().gate;
      const retrier = patient().gate;
      // Its queued release is first retried after the pause ended (1–2 s), so the retry by the
      // other instance, sent during the pause, reaches Redis before it.
      const fast = instance({ pendingReleases: { initialDelayMs: 2_000, maxDelayMs: 2_000 } });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      let released: Promise<boolean> | undefined;
      const { error } = await waiterDeadlineInPause(fast, observer, () => {
        released = observer.release(MODEL, 'holder', { token: holder.token! });
      });
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(fast.gate.pendingReleases().queued).toBe(1);
      // The task is retried elsewhere while Redis is still paused: a new admission.
      const retry = await retrier.reacquire(MODEL, 'w');
      expect(await released).toBe(true);
      expect(retry.acquired).toBe(true);

      // The release fenced to the waiter's attempt lands on the newer admission: stale.
      await eventually(() => expect(fast.gate.pendingReleases().queued).toBe(0), {
        timeoutMs: 6_000,
      });
      expect(fast.gate.pendingReleases().stale).toBe(1);
      expect(await observer.holders(MODEL)).toEqual([
        expect.objectContaining({ taskId: 'w', token: retry.token }),
      ]);
      expect((await observer.usage(MODEL)).used).toBe(1);
      await retrier.release(MODEL, 'w', { token: retry.token! });
      await expectNoLeak(observer, [fast.gate, retrier, observer]);
    });

    // A release fenced to an attempt must also take that call's place in the queue: otherwise
    // the dead place is handed the next free slot, which nobody releases before its lease ends.
    it('leaves no place behind to be handed a slot when the leave never reaches Redis', async () => {
      const observer = patient().gate;
      const fast = instance({}, { enableOfflineQueue: false, retryStrategy: () => 500 });
      await ready(fast.client);
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const waiting = fast.gate.acquire(MODEL, { taskId: 'w', waitMs: 400 });
      await waitingIs(observer, 1);
      // Cut the waiter's connection (not its subscriber) before its deadline: the leave fails
      // at once and never reaches Redis.
      await admin.client('KILL', 'ID', await connectionId(fast.client));
      await expect(waiting).rejects.toBeInstanceOf(GateUnavailableError);
      expect(fast.gate.pendingReleases().queued).toBe(1);
      // The connection comes back and the fenced release lands: it takes the place.
      await eventually(() => expect(fast.gate.pendingReleases().queued).toBe(0), {
        timeoutMs: 5_000,
      });
      expect((await observer.usage(MODEL)).waiting).toBe(0);
      // The holder leaves within the waiter lease (3 s) the place would still have had.
      expect(await observer.release(MODEL, 'holder', { token: holder.token! })).toBe(true);
      await expectNoLeak(observer, [fast.gate, observer]);
    });
  });

  describe('(b) the subscriber connection killed while waiters wait', () => {
    async function subscribers(): Promise<number> {
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      return list.split('\n').filter((line) => / sub=[1-9]/.test(line)).length;
    }

    it('admits them by the heartbeat when the message is lost, within a third of the waiter lease', async () => {
      const observer = patient().gate;
      const { gate } = instance({ waiting: { waiterLeaseMs: 600 } });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const holding = new Holding();
      const admittedAt: Record<string, number> = {};
      const waiters = ['w1', 'w2', 'w3'].map((taskId) =>
        gate.acquire(MODEL, { taskId, waitMs: 10_000 }).then((result) => {
          admittedAt[taskId] = performance.now();
          return holding.admitted(result);
        }),
      );
      await waitingIs(observer, 3);
      await eventually(async () => expect(await subscribers()).toBe(1));
      await admin.client('KILL', 'TYPE', 'pubsub');
      // Released at once: the announcement goes out while the subscriber is reconnecting.
      let freedAt = performance.now();
      await observer.release(MODEL, 'holder', { token: holder.token! });
      for (const taskId of ['w1', 'w2', 'w3']) {
        const result = await waiters[['w1', 'w2', 'w3'].indexOf(taskId)];
        expect(result).toMatchObject({ acquired: true, taskId });
        // One heartbeat period (200 ms) plus scheduling slack, not the 10 s wait.
        expect(admittedAt[taskId] - freedAt).toBeLessThan(200 + 250);
        await expectWithinLimit(observer);
        freedAt = performance.now();
        holding.releasing();
        await gate.release(MODEL, taskId, { token: result.token! });
      }
      expect(holding.most).toBe(1);
      await expectNoLeak(observer, [gate, observer]);
    });

    it('admits them by the message once ioredis has subscribed again', async () => {
      const observer = patient().gate;
      // A heartbeat every 10 s: an admission within a second can only come from a message.
      const { gate } = instance({ waiting: { waiterLeaseMs: 30_000 } });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const holding = new Holding();
      const [first, second] = ['w1', 'w2'].map((taskId) =>
        gate.acquire(MODEL, { taskId, waitMs: 10_000 }).then((result) => holding.admitted(result)),
      );
      await waitingIs(observer, 2);
      await admin.client('KILL', 'TYPE', 'pubsub');
      await eventually(async () => expect(await subscribers()).toBe(1), { timeoutMs: 3_000 });

      let freedAt = performance.now();
      await observer.release(MODEL, 'holder', { token: holder.token! });
      const one = await first;
      expect(one.acquired).toBe(true);
      expect(performance.now() - freedAt).toBeLessThan(1_000);
      await expectWithinLimit(observer);
      freedAt = performance.now();
      holding.releasing();
      await gate.release(MODEL, 'w1', { token: one.token! });
      const two = await second;
      expect(two.acquired).toBe(true);
      expect(performance.now() - freedAt).toBeLessThan(1_000);
      expect(holding.most).toBe(1);
      await gate.release(MODEL, 'w2', { token: two.token! });
      await expectNoLeak(observer, [gate, observer]);
    });
  });

  describe('(c) SCRIPT FLUSH while waiters wait', () => {
    it('keeps heartbeat, release and leave working (NOSCRIPT, then the script is sent again)', async () => {
      const observer = patient().gate;
      const { gate } = instance({ waiting: { waiterLeaseMs: 600 } });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const first = gate.acquire(MODEL, { taskId: 'w1', waitMs: 10_000 });
      const second = gate.acquire(MODEL, { taskId: 'w2', waitMs: 3_000 });
      await waitingIs(observer, 2);

      // Heartbeat: a place not renewed for 600 ms would have lapsed by then.
      await admin.script('FLUSH');
      await sleep(900);
      const now = await serverNow();
      for (const taskId of ['w1', 'w2']) {
        expect(await placeDeadline(taskId)).toBeGreaterThan(now);
      }
      expect((await observer.usage(MODEL)).waiting).toBe(2);

      // Release: hands the slot to the first waiter.
      await admin.script('FLUSH');
      expect(await observer.release(MODEL, 'holder', { token: holder.token! })).toBe(true);
      const one = await first;
      expect(one).toMatchObject({ acquired: true });
      await expectWithinLimit(observer);

      // Leave: the second waiter's deadline passes with the first holding; it had place 1.
      await admin.script('FLUSH');
      expect(await second).toMatchObject({ acquired: false, position: 1, token: null });
      expect((await observer.usage(MODEL)).waiting).toBe(0);

      await admin.script('FLUSH');
      expect(await gate.release(MODEL, 'w1', { token: one.token! })).toBe(true);
      await expectNoLeak(observer, [gate, observer]);
    });
  });

  describe('(d) an abort while the acquire that would queue the call is in flight', () => {
    it('throws AcquireAbortedError, and the call ends up neither queued nor holding', async () => {
      const observer = patient().gate;
      // The acquire waits the 400 ms pause out (timeout 2 s), then finds the abort.
      const { gate } = instance({ commandTimeoutMs: 2_000 });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const controller = new AbortController();
      await pause(400);
      const started = performance.now();
      const waiting = gate.acquire(MODEL, {
        taskId: 'w',
        waitMs: 10_000,
        signal: controller.signal,
      });
      await sleep(100);
      controller.abort(new Error('the client left'));
      await expect(waiting).rejects.toBeInstanceOf(AcquireAbortedError);
      // When the acquire came back (the pause's end), not after the wait.
      expect(performance.now() - started).toBeLessThan(1_500);

      expect(gate.pendingReleases().queued).toBe(0);
      expect(await observer.usage(MODEL)).toMatchObject({ used: 1, waiting: 0 });
      await observer.release(MODEL, 'holder', { token: holder.token! });
      // Nobody was handed the slot.
      await sleep(200);
      await expectNoLeak(observer, [gate, observer]);
    });

    it('gives back the admission when the acquire that comes back has admitted the call', async () => {
      const observer = patient().gate;
      const { gate } = instance({ commandTimeoutMs: 2_000 });
      const controller = new AbortController();
      await pause(300);
      const waiting = gate.acquire(MODEL, {
        taskId: 'w',
        waitMs: 10_000,
        signal: controller.signal,
      });
      await sleep(100);
      controller.abort(new Error('the client left'));
      // The acquire admitted the call when the pause ended: that admission goes back.
      await expect(waiting).rejects.toBeInstanceOf(AcquireAbortedError);
      expect(gate.pendingReleases().queued).toBe(0);
      await expectNoLeak(observer, [gate, observer]);
    });

    // The same undo as in (a): the acquire that queues the call outlasts the command timeout,
    // so the call throws GateUnavailableError (the abort comes later) and queues a release
    // fenced to its attempt; the acquire then runs and queues the call. The release must take
    // that place, or the next free slot is handed to it and leaks.
    it('leaves no place behind when that acquire outlasts the command timeout', async () => {
      const observer = patient().gate;
      const { gate } = instance();
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const controller = new AbortController();
      await pause(600);
      const waiting = gate.acquire(MODEL, {
        taskId: 'w',
        waitMs: 10_000,
        signal: controller.signal,
      });
      await sleep(100);
      controller.abort(new Error('the client left'));
      await expect(waiting).rejects.toBeInstanceOf(GateUnavailableError);
      expect(gate.pendingReleases().queued).toBe(1);
      await eventually(() => expect(gate.pendingReleases().queued).toBe(0), { timeoutMs: 5_000 });
      expect((await observer.usage(MODEL)).waiting).toBe(0);
      // The holder leaves within the waiter lease (3 s) the place would still have had.
      expect(await observer.release(MODEL, 'holder', { token: holder.token! })).toBe(true);
      await expectNoLeak(observer, [gate, observer]);
    });
  });

  describe('(e) gate.close() while calls wait', () => {
    it('makes every waiter return at once, empties the queue and holds nothing', async () => {
      const observer = patient().gate;
      const { gate } = instance();
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const waiters = ['w1', 'w2', 'w3'].map((taskId) =>
        gate.acquire(MODEL, { taskId, waitMs: 30_000 }),
      );
      await waitingIs(observer, 3);
      const started = performance.now();
      const left = await gate.close();
      expect(left).toBe(0);
      const results = await Promise.all(waiters);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(results.map((result) => [result.acquired, result.position])).toEqual([
        [false, 1],
        [false, 1],
        [false, 1],
      ]);
      expect(await observer.usage(MODEL)).toMatchObject({ used: 1, waiting: 0 });
      await observer.release(MODEL, 'holder', { token: holder.token! });
      await expectNoLeak(observer, [gate, observer]);
    });

    it('while Redis is paused: waiters throw within the command timeout, and close lands their releases', async () => {
      const observer = patient().gate;
      const { gate } = instance();
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      const waiters = ['w1', 'w2'].map((taskId) =>
        gate.acquire(MODEL, { taskId, waitMs: 30_000 }).then(
          (result) => result,
          (error: unknown) => error,
        ),
      );
      await waitingIs(observer, 2);
      await pause(800);
      // The holder's release is sent during the pause too: it hands the slot to w1 first.
      const released = observer.release(MODEL, 'holder', { token: holder.token! });
      const started = performance.now();
      const closing = gate.close(5_000);
      const outcomes = await Promise.all(waiters);
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 400);
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(GateUnavailableError);
      // The leaves time out, so their fenced releases are flushed by close once Redis is back.
      expect(await closing).toBe(0);
      expect(await released).toBe(true);
      await expectNoLeak(observer, [gate, observer]);
    });

    // Nothing would renew the place of a call that starts waiting while close() runs, or tell
    // it of an admission: it is told to leave at once instead of waiting out its waitMs.
    it('ends a call that starts waiting while close() runs promptly too', async () => {
      const observer = patient().gate;
      const { gate } = instance();
      let late: Promise<unknown> | undefined;
      let started = 0;
      const stopLate = new AbortController();
      await (async () => {
        const holder = await observer.acquire(MODEL, { taskId: 'holder' });
        const early = gate.acquire(MODEL, { taskId: 'early', waitMs: 30_000 });
        await waitingIs(observer, 1);
        const closing = gate.close();
        started = performance.now();
        late = gate
          .acquire(MODEL, { taskId: 'late', waitMs: 30_000, signal: stopLate.signal })
          .catch((error: unknown) => error);
        expect(await closing).toBe(0);
        expect(await early).toMatchObject({ acquired: false, position: 1 });
        await observer.release(MODEL, 'holder', { token: holder.token! });
      })();
      try {
        const outcome = await Promise.race([late, sleep(2_000).then(() => 'still waiting')]);
        expect(outcome).not.toBe('still waiting');
        expect(performance.now() - started).toBeLessThan(2_000);
      } finally {
        stopLate.abort(new Error('the test is over'));
        await late;
      }
    });

    // A subscriber reopened after close() would have no one to close it, and keep the process
    // alive: a waiting call made afterwards relies on the heartbeat alone.
    it('opens no Redis connection for a waiting call made after close()', async () => {
      const observer = patient().gate;
      const { gate } = instance();
      let before = 0;
      await (async () => {
        const holder = await observer.acquire(MODEL, { taskId: 'holder' });
        expect(await gate.acquire(MODEL, { taskId: 'early', waitMs: 200 })).toMatchObject({
          acquired: false,
          position: 1,
        });
        expect(await gate.close()).toBe(0);
        await sleep(100); // the subscriber's QUIT is through
        before = await connections();
        expect(await gate.acquire(MODEL, { taskId: 'late', waitMs: 200 })).toMatchObject({
          acquired: false,
        });
        await observer.release(MODEL, 'holder', { token: holder.token! });
        await expectNoLeak(observer, [gate, observer]);
      })();
      await sleep(100);
      expect(await connections()).toBe(before);
    });
  });

  describe('(f) a Redis restart (persistence off) while calls wait', () => {
    it('ends every waiter, admitted or not, within its wait plus a bound; none hangs', async () => {
      const observer = patient().gate;
      const fast = instance({ waiting: { waiterLeaseMs: 600 } });
      const patientWaiters = patient({ waiting: { waiterLeaseMs: 600 } });
      const holder = await observer.acquire(MODEL, { taskId: 'holder' });
      expect(holder.acquired).toBe(true);
      const WAIT_MS = 3_000;
      const BOUND_MS = PATIENT_TIMEOUT_MS + 1_000;
      const started = performance.now();
      const calls = [
        ...['f1', 'f2'].map((taskId) => ({ ...fast, taskId })),
        ...['p1', 'p2'].map((taskId) => ({ ...patientWaiters, taskId })),
      ].map(({ gate, logger, taskId }) =>
        gate.acquire(MODEL, { taskId, waitMs: WAIT_MS }).then(
          (result) => ({ gate, logger, result, ms: performance.now() - started }),
          (error: unknown) => ({ gate, logger, error, ms: performance.now() - started }),
        ),
      );
      await waitingIs(observer, 4);
      await server.stop();
      await sleep(300);
      await server.restart();

      const outcomes = await Promise.all(calls);
      let holding = 0;
      for (const outcome of outcomes) {
        expect(outcome.ms).toBeLessThan(WAIT_MS + BOUND_MS);
        if ('error' in outcome) {
          expect(outcome.error).toBeInstanceOf(GateUnavailableError);
          continue;
        }
        // The restart lost the queue: a waiter is told it lost its place, or is admitted.
        if (outcome.result.acquired) {
          holding++;
        } else {
          expect(outcome.result.position).toBeNull();
          expect(outcome.logger.warnings).toContainEqual(
            expect.stringContaining(`task "${outcome.result.taskId}" lost its place`),
          );
        }
      }
      expect(holding).toBeLessThanOrEqual(1);
      await expectWithinLimit(observer);
      for (const outcome of outcomes) {
        if ('result' in outcome && outcome.result.acquired) {
          await outcome.gate.release(MODEL, outcome.result.taskId, {
            token: outcome.result.token!,
          });
        }
      }
      await expectNoLeak(observer, [fast.gate, patientWaiters.gate, observer]);
      // The gate works again for everyone, waiting included.
      const after = await fast.gate.acquire(MODEL, { taskId: 'after', waitMs: 1_000 });
      expect(after.acquired).toBe(true);
      await fast.gate.release(MODEL, 'after', { token: after.token! });
    });
  });
});

/** Resolves once a client is connected (one without an offline queue refuses commands before). */
async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}
