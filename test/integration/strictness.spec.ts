import type { Redis } from 'ioredis';
import { gateKey } from '../../src/store/redis/gate-key';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { combine, startFleet, type Fleet } from '../support/strictness-fleet';
import { counterKey, type StrictnessJob } from '../support/strictness-protocol';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

const CHILDREN = 4;
const WORKERS = 32;
const LIMIT = 10;

/**
 * Several processes, each with many concurrent workers, hammer one gate; every admitted worker
 * raises a shared counter in Redis while it holds its slot. The highest value the counter ever
 * reached must not exceed the limit. The same checker, run against a gate that checks and adds
 * in two round trips, must catch it exceeding the limit: otherwise the check proves nothing.
 */
describe('strictness across processes', () => {
  // A private server: the load must not slow down other test files' Redis.
  let server: RedisServer;
  let client: Redis;
  let fleet: Fleet;

  beforeAll(async () => {
    server = await startRedisServer();
    client = newRedis(server.url);
    fleet = await startFleet(CHILDREN);
  }, 20_000);

  afterAll(async () => {
    await fleet?.stop();
    await closeClient(client);
    await server?.stop();
  });

  function job(gate: StrictnessJob['gate'], durationMs: number): StrictnessJob {
    return {
      gate,
      redisUrl: server.url,
      prefix: uniquePrefix(`strictness-${gate}`),
      model: 'gpu-model',
      limit: LIMIT,
      workers: WORKERS,
      durationMs,
      holdMs: 4,
    };
  }

  it(`never lets more than ${LIMIT} holders in (${CHILDREN} processes × ${WORKERS} workers, 5 s)`, async () => {
    const strict = job('strict', 5_500);
    const result = combine(await fleet.run(strict));
    process.stdout.write(
      `strictness: maxInFlight=${result.maxInFlight} admitted=${result.admitted} ` +
        `refused=${result.refused} errors=${result.errors}\n`,
    );

    expect(result.lastError).toBeUndefined();
    expect(result.errors).toBe(0);
    expect(result.admitted).toBeGreaterThan(0);
    // Workers did overlap, or the bound below would say nothing.
    expect(result.maxInFlight).toBeGreaterThan(1);
    expect(result.maxInFlight).toBeLessThanOrEqual(LIMIT);

    // Every slot came back, and every raise was lowered.
    expect(await client.zcard(gateKey(strict.prefix, strict.model))).toBe(0);
    expect(Number(await client.get(counterKey(strict.prefix)))).toBe(0);
    await dropKeys(client, strict.prefix);
  }, 20_000);

  it('catches a gate that counts and then adds in a second round trip', async () => {
    const naive = job('naive', 1_500);
    const result = combine(await fleet.run(naive));
    process.stdout.write(
      `strictness control (non-atomic gate): maxInFlight=${result.maxInFlight} ` +
        `admitted=${result.admitted} refused=${result.refused}\n`,
    );

    expect(result.errors).toBe(0);
    expect(result.maxInFlight).toBeGreaterThan(LIMIT);
    await dropKeys(client, naive.prefix);
  }, 20_000);
});
