import { Redis } from 'ioredis';
import { GateUnavailableError, QueueGate, RedisGateStore } from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { eventually } from '../support/eventually';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { closeClient } from '../support/test-redis';

const PREFIX = 'durability-test:';

/**
 * The `durability` option against a real primary and replica (private servers): an admission is
 * answered only once the replica holds it, and one the replica cannot confirm is undone.
 */
describe('durability: admissions confirmed by replicas', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let client: Redis;
  let onReplica: Redis;

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    client = new Redis(primary.url, { maxRetriesPerRequest: 1 });
    onReplica = new Redis(replica.url, { maxRetriesPerRequest: 1 });
    await eventually(
      async () => expect(await onReplica.info('replication')).toContain('master_link_status:up'),
      { timeoutMs: 10_000 },
    );
  });

  afterAll(async () => {
    await closeClient(client);
    await closeClient(onReplica);
    await replica.stop();
    await primary.stop();
  });

  it('answers an admission only once the replica holds it', async () => {
    const gate = new QueueGate(new RedisGateStore(client, PREFIX), {
      limits: { m: 5 },
      durability: { replicas: 1, timeoutMs: 2_000 },
    });
    try {
      const slot = await gate.acquire('m', { taskId: 'durable' });
      expect(slot.acquired).toBe(true);
      // No wait here: the acquire answered after WAIT, so the replica has it already.
      expect(await onReplica.zscore(`${PREFIX}{m}`, 'durable')).toBe(String(slot.expiresAt));
      await gate.release('m', 'durable', { token: slot.token! });
    } finally {
      await gate.close(0);
    }
  });

  describe('with the replica gone', () => {
    beforeAll(async () => {
      await closeClient(onReplica);
      await replica.stop();
      await eventually(async () =>
        expect(await client.info('replication')).toContain('connected_slaves:0'),
      );
    });

    it('undoes an admission no replica confirmed and fails closed', async () => {
      const gate = new QueueGate(new RedisGateStore(client, PREFIX), {
        limits: { m: 5 },
        durability: { replicas: 1, timeoutMs: 200 },
        commandTimeoutMs: 2_000,
      });
      try {
        const error = await gate.acquire('m', { taskId: 'unconfirmed' }).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error).toBeInstanceOf(GateUnavailableError);
        expect((error as Error).message).toMatch(/only 0 of 1 replica\(s\) confirmed.*undone/);
        expect(await client.zscore(`${PREFIX}{m}`, 'unconfirmed')).toBeNull();
        expect(gate.pendingReleases().queued).toBe(0);
      } finally {
        await gate.close(0);
      }
    });

    it("admits with a warning under onShortfall: 'admit'", async () => {
      const logger = new CapturedLogger();
      const gate = new QueueGate(new RedisGateStore(client, PREFIX), {
        limits: { m: 5 },
        durability: { replicas: 1, timeoutMs: 200, onShortfall: 'admit' },
        logger,
      });
      try {
        const slot = await gate.acquire('m', { taskId: 'warned' });
        expect(slot.acquired).toBe(true);
        expect(logger.lines.map((line) => line.message)).toContainEqual(
          expect.stringMatching(/only 0 of 1 replica\(s\) confirmed.*admitted anyway/),
        );
        await gate.release('m', 'warned', { token: slot.token! });
      } finally {
        await gate.close(0);
      }
    });

    it('does not wait for replicas when nothing was admitted', async () => {
      const gate = new QueueGate(new RedisGateStore(client, PREFIX), {
        limits: { m: 1 },
        durability: { replicas: 1, timeoutMs: 200, onShortfall: 'admit' },
      });
      try {
        const held = await gate.acquire('m', { taskId: 'first' });
        const again = await gate.acquire('m', { taskId: 'first' });
        expect(again).toMatchObject({ acquired: true, alreadyHeld: true, token: held.token });
        await gate.release('m', 'first', { token: held.token! });
      } finally {
        await gate.close(0);
      }
    });
  });

  it('refuses a durability that could never be met', () => {
    expect(
      () => new QueueGate(new RedisGateStore(client, PREFIX), { durability: { replicas: 0 } }),
    ).toThrow(/durability.replicas/);
  });
});
