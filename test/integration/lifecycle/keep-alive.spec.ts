import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../../../src';
import { closeClient, newRedis, uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, sleep, startGateApp } from './lifecycle-apps';

/** Every lease in this file, short so that "past its end" comes quickly. */
const LEASE_MS = 500;

describe('keepAlive', () => {
  const keyPrefix = uniquePrefix('lifecycle-keep-alive');
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({
      keyPrefix,
      events: true,
      gate: { lease: { minSeconds: LEASE_MS / 1000, maxSeconds: LEASE_MS / 1000 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  async function expiryOf(model: string, taskId: string): Promise<number | undefined> {
    return (await app.gate.holders(model)).find((holder) => holder.taskId === taskId)?.expiresAt;
  }

  it('extends a lease past its original end, until stopped', async () => {
    const kept = await app.gate.acquire('long');
    // Taken with the kept one: shows the lease really ends when nobody renews it.
    const control = await app.gate.acquire('long');
    const firstEnd = kept.expiresAt!;

    const handle = app.gate.keepAlive('long', kept.taskId, { everySeconds: 0.1 });
    expect(handle.active).toBe(true);

    await eventually(async () =>
      expect(await expiryOf('long', kept.taskId)).toBeGreaterThan(firstEnd),
    );
    // Well past the first end: the control slot is gone, the kept one still counts.
    await eventually(async () => expect(await expiryOf('long', control.taskId)).toBeUndefined());
    await sleep(LEASE_MS);
    const holders = await app.gate.holders('long');
    expect(holders.map((holder) => holder.taskId)).toEqual([kept.taskId]);
    expect(holders[0].expiresAt).toBeGreaterThan(firstEnd + LEASE_MS);
    expect((await app.gate.usage('long')).used).toBe(1);
    expect(handle.lost).toBe(false);

    handle.stop();
    expect(handle.active).toBe(false);
    // Nothing renews it any more: the slot comes back when its lease ends.
    await eventually(async () => expect((await app.gate.usage('long')).used).toBe(0));
  });

  it('stops on release', async () => {
    const { taskId } = await app.gate.acquire('released');
    const handle = app.gate.keepAlive('released', taskId, { everySeconds: 0.1 });

    await app.gate.release('released', taskId);

    expect(handle.active).toBe(false);
    expect(handle.lost).toBe(false);
  });

  it('reports a lost lease: lost, onLost, and the lease-lost event', async () => {
    const { taskId } = await app.gate.acquire('lost');
    const events: unknown[] = [];
    app.emitter.on(QUEUE_GATE_EVENTS.leaseLost, (event: unknown) => events.push(event));
    const onLost = jest.fn();
    const handle = app.gate.keepAlive('lost', taskId, { everySeconds: 0.1, onLost });

    // The member goes behind the keep-alive's back.
    const client = newRedis();
    try {
      expect(await client.zrem(`${keyPrefix}{lost}`, taskId)).toBe(1);
    } finally {
      await closeClient(client);
    }

    await eventually(() => expect(handle.lost).toBe(true));
    expect(handle.active).toBe(false);
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toBeInstanceOf(TaskLifecycleEvent);
    expect(events[0]).toMatchObject({ model: 'lost', taskId });
    expect(app.logger.fromGate('warn').join('\n')).toContain(`lease of task "${taskId}" was lost`);
    // A lost lease is not brought back.
    expect((await app.gate.usage('lost')).used).toBe(0);
  });

  it('a lease-lost event with custom names goes out under the custom name', async () => {
    const prefix = uniquePrefix('lifecycle-keep-alive-named');
    const named = await startGateApp({
      keyPrefix: prefix,
      events: true,
      gate: { events: { leaseLost: 'render.lease-gone' } },
    });
    try {
      const seen: unknown[] = [];
      const defaults: unknown[] = [];
      named.emitter.on('render.lease-gone', (event: unknown) => seen.push(event));
      named.emitter.on(QUEUE_GATE_EVENTS.leaseLost, (event: unknown) => defaults.push(event));
      const { taskId } = await named.gate.acquire('render');
      const handle = named.gate.keepAlive('render', taskId, { everySeconds: 0.05 });

      // Released by another instance: this one's keep-alive finds the lease gone.
      const client = newRedis();
      try {
        await client.zrem(`${prefix}{render}`, taskId);
      } finally {
        await closeClient(client);
      }

      await eventually(() => expect(handle.lost).toBe(true));
      expect(seen).toEqual([expect.objectContaining({ model: 'render', taskId })]);
      expect(defaults).toEqual([]);
    } finally {
      await named.close();
      await dropPrefix(prefix);
    }
  });
});
