import type { Redis } from 'ioredis';
import {
  AcquireAbortedError,
  type AcquireResult,
  type GateStore,
  InvalidArgumentError,
  MemoryGateStore,
  QueueGate,
  type QueueGateConfig,
  RedisGateStore,
} from '../../src';
import { eventually, sleep } from '../support/eventually';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

type StoreKind = 'redis' | 'memory';

/**
 * Waiting acquires, tenant shares and weighted tasks through the public QueueGate, on both
 * stores: the Redis store against the run's Redis, the memory store in process.
 */
describe.each<StoreKind>(['redis', 'memory'])('waiting, tenants and cost (%s store)', (kind) => {
  let client: Redis | undefined;
  let prefix: string;
  const gates: QueueGate[] = [];

  beforeEach(() => {
    prefix = uniquePrefix('waiting');
    if (kind === 'redis') client = newRedis();
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((gate) => gate.close(0)));
    if (client) {
      await dropKeys(client, prefix);
      await closeClient(client);
      client = undefined;
    }
  });

  /**
   * One gate instance, as one application instance has. On Redis each has its own connection;
   * in memory they share one store (the memory store is one process's gate).
   */
  let memory: MemoryGateStore | undefined;
  const connections: Redis[] = [];
  beforeEach(() => (memory = undefined));
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((connection) => closeClient(connection)));
  });
  function gate(config: QueueGateConfig = {}): QueueGate {
    let store: GateStore;
    if (kind === 'redis') {
      const connection = client!.duplicate();
      connections.push(connection);
      store = new RedisGateStore(connection, prefix);
    } else {
      store = memory ??= new MemoryGateStore();
    }
    const instance = new QueueGate(store, config);
    gates.push(instance);
    return instance;
  }

  it('admits waiters in arrival order as slots free, and reports how long each waited', async () => {
    const g = gate({ limits: { m: 1 } });
    const first = await g.acquire('m', { taskId: 'holder' });
    expect(first.acquired).toBe(true);
    const order: string[] = [];
    const waits = ['w1', 'w2', 'w3'].map(async (taskId, i) => {
      await sleep(20 * i);
      const result = await g.acquire('m', { taskId, waitMs: 5_000 });
      order.push(taskId);
      await sleep(30);
      await g.release('m', taskId, { token: result.token! });
      return result;
    });
    await sleep(100);
    await g.release('m', 'holder', { token: first.token! });
    const results = await Promise.all(waits);
    expect(order).toEqual(['w1', 'w2', 'w3']);
    for (const result of results) {
      expect(result).toMatchObject({ acquired: true, refusedBy: null, position: null });
      expect(result.waitedMs).toBeGreaterThan(50);
      expect(result.token).toBeGreaterThan(first.token!);
    }
  });

  it('answers acquired: false with the place it had when the wait runs out', async () => {
    const g = gate({ limits: { m: 1 } });
    await g.acquire('m', { taskId: 'holder' });
    const ahead = g.acquire('m', { taskId: 'ahead', waitMs: 400 });
    await sleep(30);
    const late = await g.acquire('m', { taskId: 'late', waitMs: 150 });
    expect(late).toMatchObject({ acquired: false, refusedBy: 'model', position: 2, token: null });
    expect(late.waitedMs).toBeGreaterThanOrEqual(140);
    expect((await ahead).position).toBe(1);
    expect((await g.usage('m')).waiting).toBe(0);
  });

  it('never lets a newcomer without waitMs overtake a waiter', async () => {
    const g = gate({ limits: { m: 2 } });
    const heavy = await g.acquire('m', { taskId: 'a' });
    const waiter = g.acquire('m', { taskId: 'big', cost: 2, waitMs: 2_000 });
    await eventually(async () => expect((await g.usage('m')).waiting).toBe(1));
    const newcomer = await g.acquire('m', { taskId: 'small' });
    expect(newcomer).toMatchObject({ acquired: false, refusedBy: 'model' });
    await g.release('m', 'a', { token: heavy.token! });
    expect(await waiter).toMatchObject({ acquired: true, cost: 2, used: 2 });
  });

  it('leaves the queue at once when the signal fires, and throws AcquireAbortedError', async () => {
    const g = gate({ limits: { m: 1 } });
    const held = await g.acquire('m', { taskId: 'holder' });
    const controller = new AbortController();
    const waiting = g.acquire('m', { taskId: 'w', waitMs: 10_000, signal: controller.signal });
    await eventually(async () => expect((await g.usage('m')).waiting).toBe(1));
    controller.abort(new Error('client left'));
    await expect(waiting).rejects.toBeInstanceOf(AcquireAbortedError);
    expect((await g.usage('m')).waiting).toBe(0);
    await g.release('m', 'holder', { token: held.token! });
    expect((await g.usage('m')).used).toBe(0);
  });

  it('refuses a tenant at its share while other tenants are admitted', async () => {
    const g = gate({ limits: { m: { limit: 4, perTenant: 2 } } });
    const a1 = await g.acquire('m', { tenant: 'a' });
    const a2 = await g.acquire('m', { tenant: 'a' });
    const a3 = await g.acquire('m', { tenant: 'a' });
    const b1 = await g.acquire('m', { tenant: 'b' });
    expect([a1.acquired, a2.acquired, a3.acquired, b1.acquired]).toEqual([true, true, false, true]);
    expect(a3).toMatchObject({ refusedBy: 'tenant', tenantUsed: 2, tenantLimit: 2 });
    expect(b1).toMatchObject({ tenantUsed: 1, tenantLimit: 2, used: 3 });
    expect(await g.usage('m', { tenant: 'a' })).toMatchObject({
      used: 3,
      holders: 3,
      tenantUsed: 2,
      tenantLimit: 2,
    });
  });

  it('lets a waiter of another tenant pass a waiter whose tenant is at its share', async () => {
    const g = gate({ limits: { m: { limit: 3, perTenant: 2 } } });
    await g.acquire('m', { tenant: 'a' });
    const a2 = await g.acquire('m', { tenant: 'a' });
    const b1 = await g.acquire('m', { tenant: 'b' });
    const aWaiter = g.acquire('m', { tenant: 'a', waitMs: 1_000 });
    await sleep(20);
    const bWaiter = g.acquire('m', { tenant: 'b', waitMs: 1_000 });
    await sleep(20);
    await g.release('m', b1.taskId, { token: b1.token! });
    expect(await bWaiter).toMatchObject({ acquired: true, tenantUsed: 1 });
    await g.release('m', a2.taskId, { token: a2.token! });
    expect(await aWaiter).toMatchObject({ acquired: true });
  });

  it('counts a task of cost n as n units, and gives them all back on release', async () => {
    const g = gate({ limits: { m: 5 } });
    const heavy = await g.acquire('m', { cost: 4 });
    expect(heavy).toMatchObject({ acquired: true, used: 4, cost: 4 });
    expect((await g.acquire('m', { cost: 2 })).acquired).toBe(false);
    expect((await g.acquire('m')).acquired).toBe(true);
    expect(await g.usage('m')).toMatchObject({ used: 5, holders: 2, available: 0 });
    expect(await g.holders('m')).toEqual(
      expect.arrayContaining([expect.objectContaining({ taskId: heavy.taskId, cost: 4 })]),
    );
    await g.release('m', heavy.taskId);
    expect(await g.usage('m')).toMatchObject({ used: 1, holders: 1 });
  });

  it('refuses a cost that could never fit, naming it', async () => {
    const g = gate({ limits: { m: { limit: 4, perTenant: 2 } } });
    await expect(g.acquire('m', { cost: 5 })).rejects.toThrow(InvalidArgumentError);
    await expect(g.acquire('m', { cost: 3, tenant: 't' })).rejects.toThrow(/cost.*3/);
    await expect(g.acquire('m', { cost: 1.5 })).rejects.toThrow(/cost/);
    await expect(g.acquire('m', { waitMs: -1 })).rejects.toThrow(/waitMs/);
    await expect(g.acquire('m', { tenant: '' })).rejects.toThrow(/tenant/);
  });

  it('admits across gate instances in arrival order (one store)', async () => {
    const [g1, g2] = [gate({ limits: { m: 1 } }), gate({ limits: { m: 1 } })];
    const held = await g1.acquire('m', { taskId: 'holder' });
    const admitted: string[] = [];
    const waiters: Promise<AcquireResult>[] = [];
    for (let i = 0; i < 6; i++) {
      const g = i % 2 === 0 ? g1 : g2;
      waiters.push(
        g.acquire('m', { taskId: `w${i}`, waitMs: 5_000 }).then(async (result) => {
          admitted.push(result.taskId);
          await g.release('m', result.taskId, { token: result.token! });
          return result;
        }),
      );
      await sleep(15);
    }
    await g1.release('m', 'holder', { token: held.token! });
    await Promise.all(waiters);
    expect(admitted).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
  });
});

/** What the waiting machinery sends to Redis, counted on real connections. */
describe('waiting on Redis: connections and round trips', () => {
  let client: Redis;
  let prefix: string;

  beforeEach(() => {
    client = newRedis();
    prefix = uniquePrefix('waiting-wire');
  });

  afterEach(async () => {
    await dropKeys(client, prefix);
    await closeClient(client);
  });

  it('opens one subscription per gate in a process, however many calls wait', async () => {
    const connection = client.duplicate();
    // The store's subscriber is a copy of its client: count what the copy sends.
    const subscribes: string[] = [];
    const duplicate = connection.duplicate.bind(connection);
    connection.duplicate = (...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicate(...args);
      const send = copy.sendCommand.bind(copy);
      copy.sendCommand = (command: { name: string }) => {
        if (command.name === 'subscribe') subscribes.push(command.name);
        return send(command as never);
      };
      return copy;
    };
    const store = new RedisGateStore(connection, prefix);
    const gate = new QueueGate(store, { limits: { m: 1 } });
    try {
      const held = await gate.acquire('m', { taskId: 'holder' });
      const waiters = Array.from({ length: 10 }, (_, i) =>
        gate.acquire('m', { taskId: `w${i}`, waitMs: 5_000 }),
      );
      const subscribers = async () =>
        ((await client.call('PUBSUB', 'NUMSUB', store.channelOf('m'))) as [string, number])[1];
      await eventually(async () => expect((await gate.usage('m')).waiting).toBe(10));
      await eventually(async () => expect(await subscribers()).toBe(1));
      // Still one once every waiter's heartbeat has run.
      await sleep(1_100);
      expect(await subscribers()).toBe(1);
      expect(subscribes).toEqual(['subscribe']);
      await gate.release('m', 'holder', { token: held.token! });
      for (const waiter of waiters) {
        const result = await waiter;
        expect(result.acquired).toBe(true);
        await gate.release('m', result.taskId, { token: result.token! });
      }
      // The last waiter gone, the gate's subscription goes too.
      await eventually(async () => expect(await subscribers()).toBe(0));
    } finally {
      await gate.close(0);
      await closeClient(connection);
    }
  });

  it('keeps an acquire without waitMs to one round trip and no subscription', async () => {
    const connection = client.duplicate();
    const sent: string[] = [];
    const send = connection.sendCommand.bind(connection);
    connection.sendCommand = (command: { name: string }) => {
      sent.push(command.name);
      return send(command as never);
    };
    const gate = new QueueGate(new RedisGateStore(connection, prefix), { limits: { m: 1 } });
    try {
      await gate.acquire('m', { taskId: 'warm' }); // loads the script (EVALSHA, then EVAL)
      sent.length = 0;
      expect((await gate.acquire('m', { taskId: 'full' })).acquired).toBe(false);
      expect(sent).toEqual(['evalsha']);
      const [, subscribers] = (await client.call('PUBSUB', 'NUMSUB', `${prefix}{m}:admitted`)) as [
        string,
        number,
      ];
      expect(subscribers).toBe(0);
    } finally {
      await gate.close(0);
      await closeClient(connection);
    }
  });
});
