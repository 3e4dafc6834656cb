import { Redis, type RedisOptions } from 'ioredis';
import { GateUnavailableError, QueueGate, RedisGateStore, StaleTokenError } from '../../src';
import { eventually, sleep } from '../support/eventually';
import { CapturedLogger } from '../support/captured-logger';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { closeClient, uniquePrefix } from '../support/test-redis';

const HOUR_LEASE = { minSeconds: 3600, maxSeconds: 3600 };
/** Shorter than every pause below, so each paused call times out. */
const TIMEOUT_MS = 200;
const QUICK_RETRIES = { initialDelayMs: 50, maxDelayMs: 200 };

/**
 * Fencing tokens and the undo of lost acquires, on a private Redis: these tests stall it with
 * `CLIENT PAUSE` and cut connections, which must not disturb other test files.
 */
describe('fenced leases on a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const gates: QueueGate[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });

  afterEach(async () => {
    await admin.call('CLIENT', 'UNPAUSE');
    await Promise.all(gates.splice(0).map((gate) => gate.close(0)));
    await Promise.all(clients.splice(0).map(closeClient));
  });

  afterAll(async () => {
    await closeClient(admin);
    await server.stop();
  });

  /** A gate as one application instance would have it: its own connection, its own queue. */
  function instance(prefix: string, clientOptions: RedisOptions = {}) {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, ...clientOptions });
    const logger = new CapturedLogger();
    const gate = new QueueGate(new RedisGateStore(client, prefix), {
      lease: HOUR_LEASE,
      defaultLimit: 1,
      commandTimeoutMs: TIMEOUT_MS,
      pendingReleases: QUICK_RETRIES,
      logger,
    });
    clients.push(client);
    gates.push(gate);
    return { client, gate, logger };
  }

  /** Stalls every client of the server for `ms`, as a slow or overloaded Redis does. */
  async function pause(ms: number): Promise<void> {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  }

  describe('an acquire whose answer was lost', () => {
    it.each([
      ['a task id the gate made', undefined],
      ['a task id the caller made', 'task-42'],
    ])('is undone once Redis answers again, for %s', async (_, taskId) => {
      const { gate } = instance(uniquePrefix('fencing-undo'));
      await pause(800);
      const attempt = gate.acquire('video', { taskId });
      await expect(attempt).rejects.toBeInstanceOf(GateUnavailableError);
      expect(gate.pendingReleases().queued).toBe(1);

      // The paused acquire runs when the pause ends; the release fenced to it follows.
      await eventually(
        async () => {
          expect(gate.pendingReleases().queued).toBe(0);
          expect((await gate.usage('video')).used).toBe(0);
        },
        { timeoutMs: 5_000 },
      );
      // The gate is free for the next caller: nothing held a slot for the refused one.
      expect((await gate.acquire('video')).acquired).toBe(true);
    });

    it('does not free the slot of a task that already held it (a duplicate delivery)', async () => {
      const { gate } = instance(uniquePrefix('fencing-duplicate'));
      const held = await gate.acquire('video', { taskId: 'task-7' });
      await pause(800);
      await expect(gate.acquire('video', { taskId: 'task-7' })).rejects.toBeInstanceOf(
        GateUnavailableError,
      );
      await eventually(() => expect(gate.pendingReleases().queued).toBe(0), { timeoutMs: 5_000 });

      // The duplicate admitted nothing, so its undo changed nothing.
      expect(await gate.holders('video')).toEqual([
        expect.objectContaining({ taskId: 'task-7', token: held.token }),
      ]);
      expect(gate.pendingReleases().stale).toBe(1);
    });

    it('is undone for a retry too, which then holds nothing', async () => {
      const { gate } = instance(uniquePrefix('fencing-retry'));
      const first = await gate.acquire('video', { taskId: 'task-9' });
      await gate.release('video', 'task-9', { token: first.token! });
      await pause(800);
      await expect(gate.reacquire('video', 'task-9')).rejects.toBeInstanceOf(GateUnavailableError);
      await eventually(
        async () => {
          expect(gate.pendingReleases().queued).toBe(0);
          expect((await gate.usage('video')).used).toBe(0);
        },
        { timeoutMs: 5_000 },
      );
    });

    it('is undone when a client replays it after a reconnect', async () => {
      // A client of the application's own: it queues commands while disconnected and resends
      // what was in flight, so an acquire cut off by a dropped connection still lands.
      const { client, gate } = instance(uniquePrefix('fencing-replay'), {
        enableOfflineQueue: true,
        autoResendUnfulfilledCommands: true,
        maxRetriesPerRequest: null,
        retryStrategy: () => 400,
      });
      await client.ping();
      await pause(300);
      const attempt = gate.acquire('video', { taskId: 'task-replayed' });
      await sleep(50);
      // Cut the connection while the acquire waits behind the pause.
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await expect(attempt).rejects.toBeInstanceOf(GateUnavailableError);

      await eventually(
        async () => {
          expect(gate.pendingReleases().queued).toBe(0);
          expect((await gate.usage('video')).used).toBe(0);
        },
        { timeoutMs: 8_000 },
      );
    });
  });

  describe('a release fenced to an older admission', () => {
    it('lands after another instance re-acquired the task, and leaves the new slot alone', async () => {
      const prefix = uniquePrefix('fencing-cross');
      // The worker's connection drops and stays down a while: its release is queued.
      const worker = instance(prefix, {
        enableOfflineQueue: false,
        retryStrategy: () => 1_000,
      });
      const api = instance(prefix);
      await ready(worker.client);
      const run = await worker.gate.acquire('video', { taskId: 'task-1' });
      await admin.client('KILL', 'ADDR', await clientAddress(worker.client));
      await sleep(50);

      // The task failed: its release cannot reach Redis and is queued, fenced to its token.
      await expect(
        worker.gate.release('video', 'task-1', { token: run.token! }),
      ).rejects.toMatchObject({ releaseQueued: true });

      // Another instance retries the task meanwhile: a new admission with a newer token.
      const retry = await api.gate.reacquire('video', 'task-1');
      expect(retry.token).toBeGreaterThan(run.token!);

      // The old release lands late and changes nothing; limit 1 stays one running task.
      await eventually(() => expect(worker.gate.pendingReleases().queued).toBe(0), {
        timeoutMs: 8_000,
      });
      expect(worker.gate.pendingReleases().stale).toBe(1);
      expect(await api.gate.holders('video')).toEqual([
        expect.objectContaining({ taskId: 'task-1', token: retry.token }),
      ]);
      expect((await api.gate.acquire('video')).acquired).toBe(false);
    });

    it('throws StaleTokenError when it reaches Redis directly', async () => {
      const { gate } = instance(uniquePrefix('fencing-stale'));
      const run = await gate.acquire('video', { taskId: 'task-2' });
      const retry = await gate.reacquire('video', 'task-2');
      const error = await gate.release('video', 'task-2', { token: run.token! }).catch((e) => e);
      expect(error).toBeInstanceOf(StaleTokenError);
      expect(error).toMatchObject({
        model: 'video',
        taskId: 'task-2',
        token: run.token,
        currentToken: retry.token,
      });
      await expect(gate.extend('video', 'task-2', { token: run.token! })).rejects.toBeInstanceOf(
        StaleTokenError,
      );
      expect(await gate.release('video', 'task-2', { token: retry.token! })).toBe(true);
    });
  });
});

/** Resolves once a client is connected. */
async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

/** The `ip:port` Redis sees for a client's connection. */
async function clientAddress(client: Redis): Promise<string> {
  const info = String(await client.client('INFO'));
  const match = /addr=(\S+)/.exec(info);
  if (!match) throw new Error(`no addr in CLIENT INFO: ${info}`);
  return match[1];
}
