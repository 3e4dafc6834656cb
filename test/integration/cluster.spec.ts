import type { Cluster, ClusterOptions } from 'ioredis';
import { type AcquireResult, QueueGate, RedisGateStore } from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { eventually, sleep } from '../support/eventually';
import {
  clusterPrimaries,
  connectCluster,
  directClient,
  dropClusterKeys,
  type RedisCluster,
  type RedisNode,
  startRedisCluster,
} from '../support/redis-cluster';
import { describeGateStoreContract } from '../support/store-contract';
import { uniquePrefix } from '../support/test-redis';

/** Slot handed to a waiter, announced by SPUBLISH: far sooner than a heartbeat. */
const ANNOUNCED_WITHIN_MS = 3_000;
/** A waiter's heartbeat runs every third of this: 10 s, past every bound below. */
const WAITER_LEASE_MS = 30_000;

/**
 * The Redis store on a real Redis Cluster (3 primaries, 1 replica each) through an ioredis
 * `Cluster` client: the store contract, where a gate's keys land, and waiting acquires woken
 * by sharded pub/sub.
 */
describe('RedisGateStore on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  /** Each primary and the slot ranges it serves. */
  let primaries: { node: RedisNode; slots: [number, number][] }[];

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    process.stdout.write(`cluster: ${cluster.nodes.length} nodes in ${cluster.startedInMs} ms\n`);
    client = await connectCluster(cluster);
    primaries = await clusterPrimaries(cluster.nodes[0]);
  }, 30_000);

  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  /** The slot of a key (or channel), as the cluster computes it. */
  const slotOf = async (key: string) => Number(await client.cluster('KEYSLOT', key));
  /** The primary that serves a slot. */
  const ownerOf = (slot: number) =>
    primaries.find(({ slots }) => slots.some(([from, to]) => slot >= from && slot <= to))!.node;

  describeGateStoreContract('RedisGateStore (Cluster client)', () => {
    const prefix = uniquePrefix('cluster-contract');
    return {
      store: new RedisGateStore(client, prefix),
      pass: (ms) => sleep(ms),
      dispose: () => dropClusterKeys(client, prefix),
    };
  });

  describe("a gate's keys", () => {
    let prefix: string;
    beforeEach(() => (prefix = uniquePrefix('cluster-keys')));
    afterEach(() => dropClusterKeys(client, prefix));

    it('share one slot per model, on the primary that serves it, and models spread over the shards', async () => {
      const store = new RedisGateStore(client, prefix);
      const gate = new QueueGate(store, { limits: () => 1 });
      const models = Array.from({ length: 12 }, (_, i) => `model-${i}`);
      const waiters: Promise<AcquireResult>[] = [];
      try {
        for (const model of models) {
          expect((await gate.acquire(model, { taskId: 'holder' })).acquired).toBe(true);
          // A waiter makes the queue key exist too.
          waiters.push(gate.acquire(model, { taskId: 'waiter', waitMs: 10_000 }));
        }
        await eventually(async () => {
          for (const model of models) expect((await gate.usage(model)).waiting).toBe(1);
        });

        const shards = new Set<number>();
        for (const model of models) {
          const keys = [store.keyOf(model), store.tokensKeyOf(model), store.queueKeyOf(model)];
          expect(keys).toEqual([
            `${prefix}{${model}}`,
            `${prefix}{${model}}:tokens`,
            `${prefix}{${model}}:queue`,
          ]);
          const slot = await slotOf(keys[0]);
          for (const name of [...keys, store.channelOf(model)]) {
            expect(await slotOf(name)).toBe(slot);
          }
          // All three live on the slot's primary, and on no other primary.
          const owner = ownerOf(slot);
          shards.add(owner.port);
          for (const { node } of primaries) {
            const direct = directClient(node);
            try {
              const found = await Promise.all(keys.map((key) => hasKey(direct, key)));
              expect(found).toEqual(keys.map(() => node.port === owner.port));
            } finally {
              direct.disconnect();
            }
          }
        }
        expect(shards.size).toBeGreaterThanOrEqual(2);
      } finally {
        await gate.close(0);
        await Promise.allSettled(waiters);
      }
    });
  });

  describe('waiting acquires', () => {
    let prefix: string;
    const gates: QueueGate[] = [];
    const connections: Cluster[] = [];
    let logger: CapturedLogger;

    beforeEach(() => {
      prefix = uniquePrefix('cluster-waiting');
      logger = new CapturedLogger();
    });

    afterEach(async () => {
      await Promise.all(gates.splice(0).map((gate) => gate.close(0)));
      await Promise.all(connections.splice(0).map((connection) => connection.quit()));
      await dropClusterKeys(client, prefix);
    });

    /** One application instance: its own Cluster connection, store and gate. */
    async function instance(options: ClusterOptions = {}): Promise<QueueGate> {
      const connection = await connectCluster(cluster, options);
      connections.push(connection);
      const gate = new QueueGate(new RedisGateStore(connection, prefix), {
        limits: () => 1,
        waiting: { waiterLeaseMs: WAITER_LEASE_MS },
        logger,
      });
      gates.push(gate);
      return gate;
    }

    /** One model per primary, so every shard's subscription is exercised. */
    async function modelPerShard(): Promise<string[]> {
      const byOwner = new Map<number, string>();
      for (let i = 0; byOwner.size < primaries.length; i++) {
        const model = `shard-model-${i}`;
        const port = ownerOf(await slotOf(`${prefix}{${model}}`)).port;
        if (!byOwner.has(port)) byOwner.set(port, model);
      }
      return [...byOwner.values()];
    }

    it(`hands slots to waiters of two instances in arrival order, each within ${ANNOUNCED_WITHIN_MS} ms of a release (sharded pub/sub, not the heartbeat)`, async () => {
      const [a, b] = [await instance(), await instance()];
      const models = await modelPerShard();
      expect(models).toHaveLength(3);

      await Promise.all(
        models.map(async (model) => {
          const held = await a.acquire(model, { taskId: 'holder' });
          expect(held.acquired).toBe(true);
          // w0 and w2 wait in instance a, w1 in instance b, arriving in that order.
          const order = ['w0', 'w1', 'w2'];
          const waiters = new Map<string, Promise<AcquireResult>>();
          for (const [i, taskId] of order.entries()) {
            const gate = i % 2 === 0 ? a : b;
            waiters.set(taskId, gate.acquire(model, { taskId, waitMs: 20_000 }));
            await eventually(async () => expect((await a.usage(model)).waiting).toBe(i + 1));
          }

          const admitted: string[] = [];
          for (const taskId of order) {
            void waiters.get(taskId)!.then((result) => admitted.push(result.taskId));
          }
          // Each release hands the slot to the head of the queue, and only to it.
          let previous = { taskId: 'holder', token: held.token!, gate: a };
          for (const [i, taskId] of order.entries()) {
            const releasedAt = Date.now();
            await previous.gate.release(model, previous.taskId, { token: previous.token });
            const result = await waiters.get(taskId)!;
            const tookMs = Date.now() - releasedAt;
            expect(result).toMatchObject({ acquired: true, taskId });
            expect(tookMs).toBeLessThan(ANNOUNCED_WITHIN_MS);
            expect(result.token).toBeGreaterThan(previous.token);
            await sleep(20);
            expect(admitted).toEqual(order.slice(0, i + 1));
            previous = { taskId, token: result.token!, gate: i % 2 === 0 ? a : b };
          }
          await previous.gate.release(model, previous.taskId, { token: previous.token });
          expect(await a.usage(model)).toMatchObject({ used: 0, waiting: 0 });
        }),
      );
      expect(logger.warnings).toEqual([]);
    }, 20_000);

    it(`wakes a waiter within ${ANNOUNCED_WITHIN_MS} ms on a lazyConnect Cluster client without an offline queue`, async () => {
      const gate = await instance({ lazyConnect: true, enableOfflineQueue: false });
      await Promise.all(
        (await modelPerShard()).map(async (model) => {
          const held = await gate.acquire(model, { taskId: 'holder' });
          const waiting = gate.acquire(model, { taskId: 'waiter', waitMs: 20_000 });
          await eventually(async () => expect((await gate.usage(model)).waiting).toBe(1));
          const releasedAt = Date.now();
          await gate.release(model, 'holder', { token: held.token! });
          expect(await waiting).toMatchObject({ acquired: true, taskId: 'waiter' });
          expect(Date.now() - releasedAt).toBeLessThan(ANNOUNCED_WITHIN_MS);
        }),
      );
      expect(logger.warnings).toEqual([]);
    });

    it('subscribes with SSUBSCRIBE on the shard of the gate, once per gate and instance, and unsubscribes after the last waiter', async () => {
      const gate = await instance();
      const models = await modelPerShard();
      const store = new RedisGateStore(client, prefix);
      /** Subscribers of a gate's channel, as the primary that serves it counts them. */
      const subscribers = async (model: string) => {
        const channel = store.channelOf(model);
        const direct = directClient(ownerOf(await slotOf(channel)));
        try {
          const reply = await direct.call('PUBSUB', 'SHARDNUMSUB', channel);
          return (reply as [string, number])[1];
        } finally {
          direct.disconnect();
        }
      };
      const held = new Map<string, number>();
      const waiters: Promise<AcquireResult>[] = [];
      for (const model of models) {
        const result = await gate.acquire(model, { taskId: 'holder' });
        expect(result.acquired).toBe(true);
        held.set(model, result.token!);
        for (let i = 0; i < 3; i++) {
          // Each waiter gives its slot on to the next as soon as it has it.
          const waiting = gate.acquire(model, { taskId: `w${i}`, waitMs: 10_000 });
          waiters.push(
            waiting.then(async (admitted) => {
              if (admitted.acquired) {
                await gate.release(model, admitted.taskId, { token: admitted.token! });
              }
              return admitted;
            }),
          );
        }
      }
      for (const model of models) {
        await eventually(async () => expect(await subscribers(model)).toBe(1));
      }

      // Every waiter admitted and gone: the gate's subscription goes too.
      for (const model of models) {
        await gate.release(model, 'holder', { token: held.get(model)! });
      }
      for (const result of await Promise.all(waiters)) {
        expect(result.acquired).toBe(true);
      }
      for (const model of models) {
        await eventually(async () => expect(await subscribers(model)).toBe(0));
      }
    });
  });
});

/** EXISTS on one node; a key of a slot the node does not serve is answered MOVED: absent. */
async function hasKey(node: ReturnType<typeof directClient>, key: string): Promise<boolean> {
  try {
    return (await node.exists(key)) === 1;
  } catch (error) {
    if (String(error).includes('MOVED')) return false;
    throw error;
  }
}
