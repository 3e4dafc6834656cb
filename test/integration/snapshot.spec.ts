import { type Cluster, Redis as IORedis, type Redis } from 'ioredis';
import {
  type GateSnapshot,
  type GateStore,
  MemoryGateStore,
  QueueGate,
  RedisGateStore,
} from '../../src';
import { sleep } from '../support/eventually';
import {
  clusterPrimaries,
  connectCluster,
  dropClusterKeys,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from '../support/test-redis';

/** A lease long enough to outlive every test. */
const LONG_LEASE_MS = 60_000;
/** A lease that ends during the test, before any acquire reclaims it. */
const SHORT_LEASE_MS = 50;

/** Every page of a snapshot, `count` at a time; fails on a scan that never completes. */
async function allPages(gate: QueueGate, count: number): Promise<GateSnapshot[][]> {
  const pages: GateSnapshot[][] = [];
  let cursor: string | undefined;
  for (let calls = 0; calls < 10_000; calls++) {
    const page = await gate.snapshot({ cursor, count });
    pages.push(page.gates);
    if (page.cursor === null) return pages;
    cursor = page.cursor;
  }
  throw new Error('the snapshot never completed');
}

/** Takes a slot of `gate` for `holder` straight through the store. */
function take(store: GateStore, gate: string, holder: string, leaseMs = LONG_LEASE_MS, limit = 10) {
  return store.acquire({ gate, holder, limit, leaseMs, attempt: `${gate}/${holder}` });
}

interface Subject {
  store: GateStore;
  dispose(): Promise<void>;
}

describe.each([
  [
    'MemoryGateStore',
    (): Subject => ({ store: new MemoryGateStore(), dispose: () => Promise.resolve() }),
  ],
  [
    'RedisGateStore',
    (): Subject => {
      const client = newRedis();
      const prefix = uniquePrefix('snapshot');
      return {
        store: new RedisGateStore(client, prefix),
        dispose: async () => {
          await dropKeys(client, prefix);
          await closeClient(client);
        },
      };
    },
  ],
])('QueueGate.snapshot() on a %s', (_name, subject) => {
  let store: GateStore;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ store, dispose } = subject()));
  afterEach(() => dispose());

  it('reports each gate: units, holders, waiters, its limit, live lease ends and ended leases', async () => {
    const gate = new QueueGate(store, { limits: { busy: 2, ended: 5 }, defaultLimit: 7 });
    const before = Date.now();
    await take(store, 'busy', 'a', 10_000, 2);
    await take(store, 'busy', 'b', 20_000, 2);
    // Full: a third call joins the queue.
    const queued = await store.acquire({
      gate: 'busy',
      holder: 'c',
      limit: 2,
      leaseMs: LONG_LEASE_MS,
      attempt: 'busy/c',
      waiterLeaseMs: LONG_LEASE_MS,
    });
    expect(queued.position).toBe(1);
    await store.acquire({
      gate: 'ended',
      holder: 'heavy',
      limit: 5,
      leaseMs: LONG_LEASE_MS,
      attempt: 'ended/heavy',
      cost: 3,
    });
    await take(store, 'ended', 'lost-1', SHORT_LEASE_MS);
    await take(store, 'ended', 'lost-2', SHORT_LEASE_MS);
    await take(store, 'other', 'x');
    await sleep(SHORT_LEASE_MS * 3);

    const gates = (await allPages(gate, 100)).flat();
    const byModel = new Map(gates.map((g) => [g.model, g]));
    expect([...byModel.keys()].sort()).toEqual(['busy', 'ended', 'other']);
    expect(gates).toHaveLength(3);

    const busy = byModel.get('busy')!;
    expect(busy).toMatchObject({ used: 2, holders: 2, waiting: 1, limit: 2, ended: 0 });
    expect(busy.soonestLeaseEnd).toBeGreaterThanOrEqual(before + 10_000 - 1_000);
    expect(busy.soonestLeaseEnd).toBeLessThanOrEqual(Date.now() + 10_000 + 1_000);
    expect(busy.latestLeaseEnd! - busy.soonestLeaseEnd!).toBeGreaterThan(9_000);

    const ended = byModel.get('ended')!;
    expect(ended).toMatchObject({ used: 3, holders: 1, waiting: 0, limit: 5, ended: 2 });
    expect(ended.soonestLeaseEnd).toBe(ended.latestLeaseEnd);

    expect(byModel.get('other')).toMatchObject({ used: 1, holders: 1, waiting: 0, limit: 7 });
  });

  it('counts the leases reclaimed on each gate, by every caller, and keeps the count while the gate lasts', async () => {
    const gate = new QueueGate(store, { limits: { leaky: 5 } });
    await take(store, 'leaky', 'lost-1', SHORT_LEASE_MS);
    await take(store, 'leaky', 'lost-2', SHORT_LEASE_MS);
    await take(store, 'tidy', 'kept');
    await sleep(SHORT_LEASE_MS * 3);
    const first = await gate.acquire('leaky', { taskId: 'next' });
    expect(first.reclaimed).toBe(2);
    await take(store, 'leaky', 'lost-3', SHORT_LEASE_MS);
    await sleep(SHORT_LEASE_MS * 3);
    // Reclaimed by a call of the store itself, as another instance would.
    expect((await take(store, 'leaky', 'later')).reclaimed).toBe(1);

    const byModel = new Map((await allPages(gate, 100)).flat().map((g) => [g.model, g]));
    expect(byModel.get('leaky')).toMatchObject({ reclaimed: 3, ended: 0, holders: 2 });
    expect(byModel.get('tidy')).toMatchObject({ reclaimed: 0 });
  });

  it('gives every gate exactly once across pages of a small count', async () => {
    const gate = new QueueGate(store);
    const models = Array.from({ length: 40 }, (_, i) => `model-${i}`);
    for (const model of models) await take(store, model, 'task');

    const pages = await allPages(gate, 3);
    const listed = pages.flat().map((g) => g.model);
    expect(listed.sort()).toEqual([...models].sort());
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat().every((g) => g.limit === null && g.used === 1)).toBe(true);
  });

  it('answers an empty, complete page when there is no gate', async () => {
    await expect(new QueueGate(store).snapshot()).resolves.toEqual({ gates: [], cursor: null });
  });

  it('refuses a count out of range before reaching the store', async () => {
    const gate = new QueueGate(store);
    await expect(gate.snapshot({ count: 0 })).rejects.toThrow(/Invalid count/);
    await expect(gate.snapshot({ count: 1.5 })).rejects.toThrow(/Invalid count/);
  });
});

describe('RedisGateStore.snapshot() keys', () => {
  let client: Redis;
  beforeAll(() => (client = newRedis()));
  afterAll(() => closeClient(client));

  it('lists only sorted sets under its own prefix, escaping the prefix glob characters', async () => {
    const prefix = uniquePrefix('snap*[?]');
    // Matched by the unescaped pattern `qgate-test:snap*[?]:…`, not by the escaped one.
    const sibling = prefix.replace('snap*[?]', 'snapXY?');
    const mine = new RedisGateStore(client, prefix);
    const theirs = new RedisGateStore(client, sibling);
    try {
      await take(mine, 'gate-a', 'task');
      await take(mine, 'gate-b', 'task');
      await take(theirs, 'gate-c', 'task');
      // Under the prefix, shaped like a holders key, but no sorted set: no gate.
      await client.set(`${prefix}{not-a-gate}`, 'x', 'PX', LONG_LEASE_MS);

      const pages = await allPages(new QueueGate(mine), 2);
      expect(
        pages
          .flat()
          .map((g) => g.model)
          .sort(),
      ).toEqual(['gate-a', 'gate-b']);
      const siblings = await allPages(new QueueGate(theirs), 1000);
      expect(siblings.flat().map((g) => g.model)).toEqual(['gate-c']);
    } finally {
      await dropKeys(client, prefix);
      await dropKeys(client, sibling);
    }
  });

  it('honours the client keyPrefix option', async () => {
    const clientPrefix = uniquePrefix('snapshot-client');
    const prefixed = newRedisWithPrefix(clientPrefix);
    try {
      const store = new RedisGateStore(prefixed, 'gates:');
      await take(store, 'gate-a', 'task');
      const pages = await allPages(new QueueGate(store), 1000);
      expect(pages.flat().map((g) => g.model)).toEqual(['gate-a']);
      expect(pages.flat()[0]).toMatchObject({ used: 1, holders: 1 });
    } finally {
      await dropKeys(client, clientPrefix);
      await closeClient(prefixed);
    }
  });
});

function newRedisWithPrefix(keyPrefix: string): Redis {
  return new IORedis(testRedisUrl(), { keyPrefix, maxRetriesPerRequest: 1 });
}

describe('RedisGateStore.snapshot() on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
    client = await connectCluster(cluster);
  }, 30_000);

  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  it('lists the gates of every shard, each exactly once across small pages', async () => {
    const prefix = uniquePrefix('snapshot-cluster');
    const store = new RedisGateStore(client, prefix);
    try {
      const models = Array.from({ length: 24 }, (_, i) => `model-${i}`);
      for (const model of models) await take(store, model, 'task');
      // The gates lie on at least two primaries.
      const primaries = await clusterPrimaries(cluster.nodes[0]);
      const owners = new Set<number>();
      for (const model of models) {
        const slot = Number(await client.cluster('KEYSLOT', store.keyOf(model)));
        const owner = primaries.find(({ slots }) =>
          slots.some(([from, to]) => slot >= from && slot <= to),
        );
        owners.add(owner!.node.port);
      }
      expect(owners.size).toBeGreaterThanOrEqual(2);

      const pages = await allPages(new QueueGate(store, { defaultLimit: 4 }), 2);
      const listed = pages.flat();
      expect(listed.map((g) => g.model).sort()).toEqual([...models].sort());
      expect(listed.every((g) => g.used === 1 && g.limit === 4 && g.ended === 0)).toBe(true);
    } finally {
      await dropClusterKeys(client, prefix);
    }
  });
});
