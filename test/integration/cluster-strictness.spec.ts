import type { Cluster } from 'ioredis';
import { gateKey, gateTokensKey } from '../../src/store/redis/gate-key';
import {
  connectCluster,
  dropClusterKeys,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster';
import { combine, startFleet, type Fleet } from '../support/strictness-fleet';
import { counterKey, type StrictnessJob } from '../support/strictness-protocol';
import { uniquePrefix } from '../support/test-redis';

const CHILDREN = 4;
const WORKERS = 32;
const LIMIT = 10;

/**
 * strictness.spec.ts on a Redis Cluster: every child process connects with its own ioredis
 * `Cluster` client, and the highest value of the shared in-flight counter must not exceed the
 * limit. The non-atomic control must exceed it here too, or the check proves nothing.
 */
describe('strictness across processes on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let fleet: Fleet;

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    process.stdout.write(`cluster: ${cluster.nodes.length} nodes in ${cluster.startedInMs} ms\n`);
    client = await connectCluster(cluster);
    fleet = await startFleet(CHILDREN);
  }, 30_000);

  afterAll(async () => {
    await fleet?.stop();
    await client?.quit();
    await cluster?.stop();
  });

  function job(gate: StrictnessJob['gate'], durationMs: number): StrictnessJob {
    const [first] = cluster.startupNodes;
    return {
      gate,
      redisUrl: `redis://${first.host}:${first.port}`,
      cluster: cluster.startupNodes,
      prefix: uniquePrefix(`cluster-strictness-${gate}`),
      model: 'gpu-model',
      limit: LIMIT,
      workers: WORKERS,
      durationMs,
      holdMs: 4,
    };
  }

  it(`never lets more than ${LIMIT} holders in (${CHILDREN} processes × ${WORKERS} workers on Cluster clients, 5 s)`, async () => {
    const strict = job('strict', 5_000);
    const result = combine(await fleet.run(strict));
    process.stdout.write(
      `cluster strictness: maxInFlight=${result.maxInFlight} admitted=${result.admitted} ` +
        `refused=${result.refused} errors=${result.errors}\n`,
    );

    expect(result.lastError).toBeUndefined();
    expect(result.errors).toBe(0);
    expect(result.admitted).toBeGreaterThan(0);
    expect(result.refused).toBeGreaterThan(0);
    expect(result.maxInFlight).toBeGreaterThan(1);
    expect(result.maxInFlight).toBeLessThanOrEqual(LIMIT);

    // The gate lived on the Cluster: its book keeps the last token; every slot came back.
    expect(
      Number(await client.hget(gateTokensKey(strict.prefix, strict.model), '')),
    ).toBeGreaterThan(0);
    expect(await client.zcard(gateKey(strict.prefix, strict.model))).toBe(0);
    expect(Number(await client.get(counterKey(strict.prefix)))).toBe(0);
    await dropClusterKeys(client, strict.prefix);
  }, 30_000);

  it('catches a gate that counts and then adds in a second round trip', async () => {
    const naive = job('naive', 1_500);
    const result = combine(await fleet.run(naive));
    process.stdout.write(
      `cluster strictness control (non-atomic gate): maxInFlight=${result.maxInFlight} ` +
        `admitted=${result.admitted} refused=${result.refused}\n`,
    );

    expect(result.errors).toBe(0);
    expect(result.maxInFlight).toBeGreaterThan(LIMIT);
    await dropClusterKeys(client, naive.prefix);
  }, 30_000);
});
