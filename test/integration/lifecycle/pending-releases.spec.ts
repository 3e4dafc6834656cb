import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../../../src';
import { type RedisServer, startRedisServer } from '../../support/redis-server';
import { uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, membersOf, startGateApp } from './lifecycle-apps';

const MODEL = 'video';

describe('releases while Redis is down', () => {
  let server: RedisServer;

  beforeAll(async () => {
    // A private server, since this file stops it. Its data must survive the restart, or every
    // slot would vanish with the restart and the test could not tell released from lost: so
    // append-only with an fsync per write (stop() kills the process without a save).
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** An app on the private server, with quick retries so the suite stays short. */
  function startApp(keyPrefix: string): Promise<GateApp> {
    return startGateApp({
      keyPrefix,
      redisUrl: server.url,
      events: true,
      gate: {
        commandTimeoutMs: 300,
        pendingReleases: { initialDelayMs: 50, maxDelayMs: 300 },
        shutdownTimeoutMs: 10_000,
      },
    });
  }

  /** Takes `count` slots and one more for a task that keeps running throughout. */
  async function takeSlots(app: GateApp, count: number) {
    const running = await app.gate.acquire(MODEL, { taskId: 'still-running' });
    const ending: string[] = [];
    for (let i = 0; i < count; i++) ending.push((await app.gate.acquire(MODEL)).taskId);
    expect((await app.gate.usage(MODEL)).used).toBe(count + 1);
    return { running: running.taskId, ending };
  }

  /** Ends each task through the lifecycle event while Redis cannot be reached. */
  async function endAll(app: GateApp, taskIds: string[]): Promise<void> {
    const answers = await Promise.all(
      taskIds.map((taskId) =>
        app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, new TaskLifecycleEvent(MODEL, taskId)),
      ),
    );
    // The listener cannot say the release landed, and must not throw into the emitter.
    expect(answers.flat()).toEqual(taskIds.map(() => false));
  }

  it('queues 20 releases and delivers them all once Redis is back', async () => {
    const keyPrefix = uniquePrefix('lifecycle-pending');
    const app = await startApp(keyPrefix);
    try {
      const { running, ending } = await takeSlots(app, 20);

      await server.stop();
      await endAll(app, ending);
      expect(app.gate.pendingReleases()).toMatchObject({ queued: 20, dropped: 0 });
      expect(app.logger.fromGate('warn').join('\n')).toMatch(/queued, retrying until it lands/);
      // Releases that will still land are a warning; nothing here is an error.
      expect(app.logger.fromGate('error')).toEqual([]);

      await server.restart();

      // Nothing but waiting: the queue retries by itself.
      await eventually(async () => expect((await app.gate.usage(MODEL)).used).toBe(1), {
        timeoutMs: 15_000,
        everyMs: 50,
      });
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([running]);
      expect(app.gate.pendingReleases()).toMatchObject({ queued: 0, dropped: 0 });
    } finally {
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('at its bound, drops the oldest release, says so, and still delivers the rest', async () => {
    const keyPrefix = uniquePrefix('lifecycle-pending-bound');
    const app = await startGateApp({
      keyPrefix,
      redisUrl: server.url,
      events: true,
      gate: {
        commandTimeoutMs: 300,
        pendingReleases: { maxSize: 5, initialDelayMs: 50, maxDelayMs: 300 },
      },
    });
    try {
      const { running, ending } = await takeSlots(app, 8);
      await server.stop();
      // One after the other, so that "oldest" is well defined.
      for (const taskId of ending) await endAll(app, [taskId]);

      expect(app.gate.pendingReleases()).toMatchObject({ queued: 5, dropped: 3 });
      const errors = app.logger.fromGate('error').filter((line) => /queue is full/.test(line));
      expect(errors).toHaveLength(3);
      expect(errors[0]).toContain(ending[0]);

      await server.restart();
      await eventually(() => expect(app.gate.pendingReleases().queued).toBe(0), {
        timeoutMs: 15_000,
      });
      // The dropped ones keep their slots until their leases end: the documented last resort.
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual(
        [running, ...ending.slice(0, 3)].sort(),
      );
    } finally {
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('a retry while Redis is down is deferred, not thrown', async () => {
    const keyPrefix = uniquePrefix('lifecycle-pending-retry');
    const app = await startApp(keyPrefix);
    try {
      const deferred: unknown[] = [];
      app.emitter.on(QUEUE_GATE_EVENTS.retryDeferred, (event: unknown) => deferred.push(event));
      await server.stop();

      const answers = await app.emitter.emitAsync(
        QUEUE_GATE_EVENTS.retrying,
        new TaskLifecycleEvent(MODEL, 'retried-while-down'),
      );

      expect(answers).toEqual([false]);
      expect(deferred).toEqual([
        expect.objectContaining({ model: MODEL, taskId: 'retried-while-down' }),
      ]);
      await server.restart();
      // The retry was not half-done: no slot appears once Redis answers again.
      await eventually(async () => expect((await app.gate.usage(MODEL)).used).toBe(0), {
        timeoutMs: 15_000,
      });
    } finally {
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('a retry after Redis is back takes the slot, and the stale queued release never frees it', async () => {
    const keyPrefix = uniquePrefix('lifecycle-pending-stale');
    // Retries far apart: the queued release is still waiting when the retry event comes.
    const app = await startGateApp({
      keyPrefix,
      redisUrl: server.url,
      events: true,
      gate: {
        commandTimeoutMs: 300,
        pendingReleases: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      },
    });
    let closed = false;
    try {
      const { taskId } = await app.gate.acquire(MODEL);
      await server.stop();
      await app.emitter.emitAsync(QUEUE_GATE_EVENTS.failed, new TaskLifecycleEvent(MODEL, taskId));
      expect(app.gate.pendingReleases().queued).toBe(1);
      await server.restart();
      // Until the client has reconnected, a retry would be deferred: wait for the gate to answer.
      await eventually(() => app.gate.usage(MODEL), { timeoutMs: 15_000 });

      await expect(
        app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent(MODEL, taskId)),
      ).resolves.toEqual([true]);

      expect(app.gate.pendingReleases().queued).toBe(0);
      // The shutdown flush would deliver a release still queued, freeing the retried task's slot.
      await app.close();
      closed = true;
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([taskId]);
    } finally {
      if (!closed) await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('shutdown delivers queued releases once Redis is reachable again', async () => {
    const keyPrefix = uniquePrefix('lifecycle-pending-shutdown');
    const app = await startApp(keyPrefix);
    let closed = false;
    try {
      const { running, ending } = await takeSlots(app, 5);
      await server.stop();
      await endAll(app, ending);
      expect(app.gate.pendingReleases().queued).toBe(5);

      // Shutdown starts while Redis is still down, so only its flush can deliver them.
      const closing = app.close();
      await server.restart();
      await closing;
      closed = true;

      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([running]);
      expect(app.gate.pendingReleases().queued).toBe(0);
    } finally {
      if (!closed) await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });
});
