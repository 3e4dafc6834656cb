import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../../../src';
import { type RedisServer, startRedisServer } from '../../support/redis-server';
import { newRedis, uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, membersOf, startGateApp } from './lifecycle-apps';

const MODEL = 'video';

/** Collects the payloads emitted under `event`. */
function record(app: GateApp, event: string): TaskLifecycleEvent[] {
  const seen: TaskLifecycleEvent[] = [];
  app.emitter.on(event, (payload: TaskLifecycleEvent) => void seen.push(payload));
  return seen;
}

describe('lifecycle events carry fencing tokens', () => {
  let server: RedisServer;
  const apps: GateApp[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    // A private server, since these tests stop and pause it; append-only so a restart keeps
    // the slots.
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const prefix of prefixes.splice(0)) await dropPrefix(prefix, server.url);
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function startApp(keyPrefix: string, retryDelayMs = 50): Promise<GateApp> {
    const app = await startGateApp({
      keyPrefix,
      redisUrl: server.url,
      events: true,
      gate: {
        limits: { [MODEL]: 1 },
        commandTimeoutMs: 200,
        pendingReleases: { initialDelayMs: retryDelayMs, maxDelayMs: retryDelayMs },
        shutdownTimeoutMs: 10_000,
      },
    });
    apps.push(app);
    return app;
  }

  function newPrefix(label: string): string {
    const prefix = uniquePrefix(label);
    prefixes.push(prefix);
    return prefix;
  }

  it("a worker's queued failed release that lands after another instance's retry leaves the retry's slot alone", async () => {
    const keyPrefix = newPrefix('fenced-cross-instance');
    // The worker's queued release waits (long retry delay) until its shutdown flush.
    const worker = await startApp(keyPrefix, 60_000);
    const api = await startApp(keyPrefix);
    const first = await worker.gate.acquire(MODEL);
    const admitted = record(api, QUEUE_GATE_EVENTS.retryAdmitted);

    // The task fails while Redis is unreachable: the worker's release (token T1) is queued.
    await server.stop();
    const failed = new TaskLifecycleEvent(MODEL, first.taskId, { token: first.token! });
    await expect(worker.emitter.emitAsync(QUEUE_GATE_EVENTS.failed, failed)).resolves.toEqual([
      false,
    ]);
    expect(worker.gate.pendingReleases().queued).toBe(1);
    await server.restart();
    await eventually(() => api.gate.usage(MODEL), { timeoutMs: 15_000 });

    // Another instance retries the task: a new admission, token T2, announced with it.
    await expect(
      api.emitter.emitAsync(
        QUEUE_GATE_EVENTS.retrying,
        new TaskLifecycleEvent(MODEL, first.taskId),
      ),
    ).resolves.toEqual([true]);
    expect(admitted).toHaveLength(1);
    const retry = admitted[0];
    expect(retry).toBeInstanceOf(TaskLifecycleEvent);
    expect(retry).toMatchObject({ model: MODEL, taskId: first.taskId });
    expect(retry.token).toBeGreaterThan(first.token!);

    // The worker's stale release lands now (its shutdown flushes the queue). Its client must be
    // back first: with the 60 s retry delay, the flush makes a single attempt in time.
    await eventually(() => worker.gate.usage(MODEL), { timeoutMs: 15_000 });
    await worker.close();
    expect(worker.gate.pendingReleases().queued).toBe(0);

    expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([first.taskId]);
    expect(await api.gate.holders(MODEL)).toEqual([
      expect.objectContaining({ taskId: first.taskId, token: retry.token }),
    ]);
    // With limit 1, nobody else gets in while the retry runs.
    expect((await api.gate.acquire(MODEL)).acquired).toBe(false);
  });

  it('a late succeeded event of a retried task is logged as a stale release and answers false', async () => {
    const keyPrefix = newPrefix('fenced-stale-event');
    const app = await startApp(keyPrefix);
    const first = await app.gate.acquire(MODEL);
    const retry = await app.gate.reacquire(MODEL, first.taskId);
    expect(retry.token).toBeGreaterThan(first.token!);

    const late = new TaskLifecycleEvent(MODEL, first.taskId, { token: first.token! });
    await expect(app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, late)).resolves.toEqual([
      false,
    ]);

    expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([first.taskId]);
    expect(app.logger.fromGate('log').join('\n')).toMatch(/stale release ignored/);
    expect(app.logger.fromGate('error')).toEqual([]);

    // The event of the run that holds the slot releases it.
    const current = new TaskLifecycleEvent(MODEL, first.taskId, { token: retry.token! });
    await expect(app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, current)).resolves.toEqual([
      true,
    ]);
    expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([]);
  });

  it("a retry on a full gate is deferred with reason 'full'", async () => {
    const keyPrefix = newPrefix('fenced-full');
    const app = await startApp(keyPrefix);
    const running = await app.gate.acquire(MODEL);
    const deferred = record(app, QUEUE_GATE_EVENTS.retryDeferred);
    const admitted = record(app, QUEUE_GATE_EVENTS.retryAdmitted);

    await expect(
      app.emitter.emitAsync(
        QUEUE_GATE_EVENTS.retrying,
        new TaskLifecycleEvent(MODEL, 'failed-task', { expectedSeconds: 30 }),
      ),
    ).resolves.toEqual([false]);

    expect(admitted).toEqual([]);
    expect(deferred).toEqual([
      new TaskLifecycleEvent(MODEL, 'failed-task', { expectedSeconds: 30, reason: 'full' }),
    ]);
    expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([running.taskId]);
  });

  it("a retry whose re-acquire times out is deferred with reason 'unavailable' and holds no slot once Redis resumes", async () => {
    const keyPrefix = newPrefix('fenced-stalled-retry');
    const app = await startApp(keyPrefix);
    const deferred = record(app, QUEUE_GATE_EVENTS.retryDeferred);
    // Keyspace events tell "the late re-acquire landed and was undone" from "it never landed".
    const watcher = newRedis(server.url);
    const seen: string[] = [];
    try {
      await watcher.config('SET', 'notify-keyspace-events', 'Kz');
      const channel = `__keyspace@0__:${keyPrefix}{${MODEL}}`;
      watcher.on('message', (_from: string, event: string) => void seen.push(event));
      await watcher.subscribe(channel);

      const pauser = newRedis(server.url);
      // Longer than commandTimeoutMs (200): the re-acquire times out, then runs on resume.
      await pauser.client('PAUSE', 800, 'ALL');
      pauser.disconnect();

      await expect(
        app.emitter.emitAsync(
          QUEUE_GATE_EVENTS.retrying,
          new TaskLifecycleEvent(MODEL, 'stalled-task'),
        ),
      ).resolves.toEqual([false]);
      expect(deferred).toEqual([
        new TaskLifecycleEvent(MODEL, 'stalled-task', { reason: 'unavailable' }),
      ]);

      await eventually(() => expect(seen).toEqual(['zadd', 'zrem']), { timeoutMs: 10_000 });
      await eventually(async () => expect((await app.gate.usage(MODEL)).used).toBe(0), {
        timeoutMs: 10_000,
      });
    } finally {
      watcher.disconnect();
    }
  });
});
