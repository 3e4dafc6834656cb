import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../../../src';
import { uniquePrefix } from '../../support/test-redis';
import { dropPrefix, type GateApp, startGateApp } from './lifecycle-apps';

/** Collects the payloads emitted under `event` until the returned function is called. */
function record(app: GateApp, event: string): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const listener = (payload: unknown) => void seen.push(payload);
  app.emitter.on(event, listener);
  return { seen, stop: () => app.emitter.off(event, listener) };
}

async function taskIdsOf(app: GateApp, model: string): Promise<string[]> {
  return (await app.gate.holders(model)).map((holder) => holder.taskId).sort();
}

describe('retrying with the default event names', () => {
  const keyPrefix = uniquePrefix('lifecycle-retry');
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({ keyPrefix, events: true, gate: { limits: { one: 1, three: 3 } } });
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  it('takes the slot again when one is free', async () => {
    const { taskId } = await app.gate.acquire('three');
    await app.emitter.emitAsync(QUEUE_GATE_EVENTS.failed, new TaskLifecycleEvent('three', taskId));
    expect((await app.gate.usage('three')).used).toBe(0);
    const deferred = record(app, QUEUE_GATE_EVENTS.retryDeferred);

    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent('three', taskId)),
    ).resolves.toEqual([true]);

    expect(await taskIdsOf(app, 'three')).toEqual([taskId]);
    expect(deferred.seen).toEqual([]);
    deferred.stop();

    // A duplicate delivery of the same retry keeps one slot.
    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent('three', taskId)),
    ).resolves.toEqual([true]);
    expect((await app.gate.usage('three')).used).toBe(1);
    await app.gate.release('three', taskId);
  });

  it('uses the retry event expectedSeconds for the new lease', async () => {
    const { taskId } = await app.gate.acquire('three');
    await app.gate.release('three', taskId);
    const before = Date.now();

    await app.emitter.emitAsync(
      QUEUE_GATE_EVENTS.retrying,
      // Ten times 1000 s is past the one hour minimum of the default lease policy.
      new TaskLifecycleEvent('three', taskId, { expectedSeconds: 1_000 }),
    );

    const [holder] = await app.gate.holders('three');
    expect(holder.expiresAt - before).toBeGreaterThan(9_000_000);
    await app.gate.release('three', taskId);
  });

  it('on a full gate, emits retry-deferred, answers false and takes no slot', async () => {
    const running = await app.gate.acquire('one');
    expect(running.acquired).toBe(true);
    // A task whose run failed earlier and gave its slot back.
    const failed = 'failed-task';
    const deferred = record(app, QUEUE_GATE_EVENTS.retryDeferred);

    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent('one', failed)),
    ).resolves.toEqual([false]);

    deferred.stop();
    expect(deferred.seen).toHaveLength(1);
    expect(deferred.seen[0]).toBeInstanceOf(TaskLifecycleEvent);
    expect(deferred.seen[0]).toMatchObject({ model: 'one', taskId: failed });
    expect(await taskIdsOf(app, 'one')).toEqual([running.taskId]);
    await app.gate.release('one', running.taskId);
  });

  it('many concurrent retries never take more than the free slots', async () => {
    const running = await app.gate.acquire('three');
    const retried = Array.from({ length: 12 }, (_, i) => `retried-${i}`);
    const deferred = record(app, QUEUE_GATE_EVENTS.retryDeferred);

    const answers = await Promise.all(
      retried.map((taskId) =>
        app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent('three', taskId)),
      ),
    );

    deferred.stop();
    const admitted = retried.filter((_, i) => answers[i][0] === true);
    const refused = retried.filter((_, i) => answers[i][0] === false);
    expect(admitted).toHaveLength(2);
    expect(refused).toHaveLength(10);
    expect((deferred.seen as TaskLifecycleEvent[]).map((event) => event.taskId).sort()).toEqual(
      refused.sort(),
    );
    expect(await taskIdsOf(app, 'three')).toEqual([running.taskId, ...admitted].sort());
    for (const taskId of [running.taskId, ...admitted]) await app.gate.release('three', taskId);
  });

  it('logs and answers false for a payload without model or taskId, and keeps listening', async () => {
    const { taskId } = await app.gate.acquire('three');
    const errorsBefore = app.logger.fromGate('error').length;

    await expect(app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, { taskId })).resolves.toEqual([
      false,
    ]);
    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, { model: 'three' }),
    ).resolves.toEqual([false]);
    await expect(app.emitter.emitAsync(QUEUE_GATE_EVENTS.failed, undefined)).resolves.toEqual([
      false,
    ]);

    const errors = app.logger.fromGate('error').slice(errorsBefore);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain(QUEUE_GATE_EVENTS.succeeded);
    expect(errors[1]).toContain(QUEUE_GATE_EVENTS.retrying);
    expect((await app.gate.usage('three')).used).toBe(1);

    // A plain object with the right fields is as good as the class.
    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, { model: 'three', taskId }),
    ).resolves.toEqual([true]);
    expect((await app.gate.usage('three')).used).toBe(0);
  });

  it('logs the gate, task id and cause when the work fails, and answers false', async () => {
    const errorsBefore = app.logger.fromGate('error').length;

    // A model name the gate refuses: the release throws inside the listener.
    await expect(
      app.emitter.emitAsync(
        QUEUE_GATE_EVENTS.cancelled,
        new TaskLifecycleEvent('bad{name}', 't-1'),
      ),
    ).resolves.toEqual([false]);

    const [line] = app.logger.fromGate('error').slice(errorsBefore);
    expect(line).toContain('t-1');
    expect(line).toContain('bad{name}');
    expect(line).toContain(QUEUE_GATE_EVENTS.cancelled);
  });
});

describe('custom event names from the events option', () => {
  const keyPrefix = uniquePrefix('lifecycle-names');
  const names = {
    succeeded: 'render.done',
    failed: 'render.crashed',
    cancelled: 'render.aborted',
    retrying: 'render.again',
    retryDeferred: 'render.again-later',
  };
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({
      keyPrefix,
      events: true,
      gate: { limits: { render: 1 }, events: names },
    });
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  it('releases on the custom names and not on the defaults', async () => {
    for (const event of [names.succeeded, names.failed, names.cancelled]) {
      const { taskId } = await app.gate.acquire('render');
      const task = new TaskLifecycleEvent('render', taskId);

      for (const name of [
        QUEUE_GATE_EVENTS.succeeded,
        QUEUE_GATE_EVENTS.failed,
        QUEUE_GATE_EVENTS.cancelled,
      ]) {
        await expect(app.emitter.emitAsync(name, task)).resolves.toEqual([]);
      }
      expect((await app.gate.usage('render')).used).toBe(1);

      await expect(app.emitter.emitAsync(event, task)).resolves.toEqual([true]);
      expect((await app.gate.usage('render')).used).toBe(0);
    }
  });

  it('retries on the custom name and defers under the custom name', async () => {
    const running = await app.gate.acquire('render');
    const custom = record(app, names.retryDeferred);
    const defaults = record(app, QUEUE_GATE_EVENTS.retryDeferred);

    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.retrying, new TaskLifecycleEvent('render', 'r-1')),
    ).resolves.toEqual([]);
    await expect(
      app.emitter.emitAsync(names.retrying, new TaskLifecycleEvent('render', 'r-1')),
    ).resolves.toEqual([false]);

    custom.stop();
    defaults.stop();
    expect(custom.seen).toEqual([expect.objectContaining({ model: 'render', taskId: 'r-1' })]);
    expect(defaults.seen).toEqual([]);

    await app.gate.release('render', running.taskId);
    await expect(
      app.emitter.emitAsync(names.retrying, new TaskLifecycleEvent('render', 'r-1')),
    ).resolves.toEqual([true]);
    expect(await taskIdsOf(app, 'render')).toEqual(['r-1']);
    await app.gate.release('render', 'r-1');
  });
});

describe('events: false', () => {
  const keyPrefix = uniquePrefix('lifecycle-off');
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({ keyPrefix, events: true, gate: { events: false } });
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  it('does not listen even with an event emitter present', async () => {
    const { taskId } = await app.gate.acquire('quiet');

    await expect(
      app.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, new TaskLifecycleEvent('quiet', taskId)),
    ).resolves.toEqual([]);

    expect((await app.gate.usage('quiet')).used).toBe(1);
    expect(app.emitter.listenerCount(QUEUE_GATE_EVENTS.retrying)).toBe(0);
  });
});
