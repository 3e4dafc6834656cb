import { Controller, Get, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { GateUnavailableError, QueueGateModule, QueueGateService, RedisGateStore } from '../../src';
import { QueueGateHealthIndicator, QueueGateTerminusModule } from '../../src/terminus';
import {
  CapturedLogger,
  eventually,
  get,
  PLATFORMS,
  type Platform,
  sleep,
} from '../support/http-app';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { closeClient, newRedis, uniquePrefix } from '../support/test-redis';

const BOUND_MS = 500;

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly gate: QueueGateHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.gate.isHealthy('queue-gate', { timeoutMs: BOUND_MS })]);
  }
}

describe.each(PLATFORMS)('QueueGateHealthIndicator over HTTP (%s)', (platform: Platform) => {
  // A private server: the test stops it, which would break every suite sharing the run's one.
  let redis: RedisServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule,
        QueueGateModule.forRoot({
          redis: { url: redis.url },
          keyPrefix: uniquePrefix(`terminus-${platform}`),
          commandTimeoutMs: 300,
          shutdownTimeoutMs: 500,
        }),
        QueueGateTerminusModule,
      ],
      controllers: [HealthController],
    })
      .setLogger(new CapturedLogger())
      .compile();
    const adapter =
      platform === 'express'
        ? new ExpressAdapter()
        : new FastifyAdapter({ forceCloseConnections: true });
    app = moduleRef.createNestApplication(adapter, {
      logger: new CapturedLogger(),
      forceCloseConnections: true,
    });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('answers 200 with status ok and the gate details while Redis is up', async () => {
    // A lease that is taken and given back leaves the counters where they were.
    const gate = app.get(QueueGateService);
    const slot = await gate.acquire('health-model', { taskId: 'task-1', limit: 1 });
    expect(slot.acquired).toBe(true);
    await gate.release('health-model', 'task-1');

    const reply = await get(`${url}/health`);
    expect(reply.status).toBe(200);
    expect(reply.json.status).toBe('ok');
    const details = reply.json.info['queue-gate'];
    expect(details).toMatchObject({
      status: 'up',
      pendingReleases: 0,
      droppedReleases: 0,
      reclaimedLeases: 0,
    });
    expect(Array.isArray(details.doctor)).toBe(true);
    for (const finding of details.doctor) {
      expect(['warning', 'error']).toContain(finding.severity);
      expect(finding.severity).not.toBe('error');
      expect(finding.check).not.toBe('reachable');
    }
    expect(reply.json.details['queue-gate']).toEqual(details);
  });

  it('answers 503 within the bound while Redis takes no commands (CLIENT PAUSE)', async () => {
    const admin = newRedis(redis.url);
    try {
      await admin.call('CLIENT', 'PAUSE', String(BOUND_MS * 4), 'ALL');
      const started = Date.now();
      const reply = await get(`${url}/health`);
      const elapsed = Date.now() - started;

      expect(reply.status).toBe(503);
      const details = reply.json.error['queue-gate'];
      expect(details.status).toBe('down');
      expect(details.doctor).toEqual([
        expect.objectContaining({ severity: 'error', check: 'reachable' }),
      ]);
      expect(elapsed).toBeGreaterThanOrEqual(BOUND_MS - 50);
      expect(elapsed).toBeLessThan(BOUND_MS + 400);
      await admin.call('CLIENT', 'UNPAUSE');
    } finally {
      await closeClient(admin);
    }
    // Up again once the server answers.
    await eventually(async () => expect((await get(`${url}/health`)).status).toBe(200), {
      timeoutMs: 5_000,
      everyMs: 100,
    });
  });

  it('answers 503 with the indicator down, within the bound, once Redis is stopped', async () => {
    await redis.stop();
    const started = Date.now();
    const reply = await get(`${url}/health`);
    const elapsed = Date.now() - started;

    expect(reply.status).toBe(503);
    expect(reply.json.status).toBe('error');
    const details = reply.json.error['queue-gate'];
    expect(details).toMatchObject({
      status: 'down',
      pendingReleases: 0,
      droppedReleases: 0,
      reclaimedLeases: 0,
    });
    expect(details.doctor).toEqual(
      expect.arrayContaining([expect.objectContaining({ check: 'reachable' })]),
    );
    // The bound, plus the HTTP round trip on a local socket.
    expect(elapsed).toBeLessThan(BOUND_MS + 400);

    // Up again once the server is back (and the app then closes against a live Redis).
    await redis.restart();
    await eventually(async () => expect((await get(`${url}/health`)).status).toBe(200), {
      timeoutMs: 10_000,
      everyMs: 100,
    });
  });
});

describe('QueueGateHealthIndicator: a doctor error, and the counters since start', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof newRedis>;
  let app: INestApplication;
  let url: string;
  const prefix = uniquePrefix('terminus-counters');

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = newRedis(redis.url);
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule,
        QueueGateModule.forRoot({
          redis: { url: redis.url },
          keyPrefix: prefix,
          commandTimeoutMs: 300,
          shutdownTimeoutMs: 500,
          // One queued release at most: a second failed release drops the first.
          pendingReleases: { maxSize: 1, initialDelayMs: 50, maxDelayMs: 200 },
        }),
        QueueGateTerminusModule,
      ],
      controllers: [HealthController],
    })
      .setLogger(new CapturedLogger())
      .compile();
    app = moduleRef.createNestApplication({ logger: new CapturedLogger() });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    await closeClient(admin);
    await redis?.stop();
  });

  it('answers 503 with the doctor error at once when a reachable Redis fails a check', async () => {
    // The app connects as the default user: it may no longer touch its key prefix.
    await admin.call('ACL', 'SETUSER', 'default', 'resetkeys', '~elsewhere:*');
    try {
      const started = Date.now();
      const reply = await get(`${url}/health`);
      const elapsed = Date.now() - started;

      expect(reply.status).toBe(503);
      const details = reply.json.error['queue-gate'];
      expect(details).toMatchObject({
        status: 'down',
        pendingReleases: 0,
        droppedReleases: 0,
        reclaimedLeases: 0,
      });
      expect(details.doctor).toContainEqual(
        expect.objectContaining({ severity: 'error', check: 'access' }),
      );
      expect(details.doctor).not.toContainEqual(expect.objectContaining({ check: 'reachable' }));
      // Redis answered: down for what it said, not for the bound.
      expect(elapsed).toBeLessThan(BOUND_MS);
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'allkeys');
    }
    expect((await get(`${url}/health`)).status).toBe(200);
  });

  it('carries the releases waiting and dropped and the leases reclaimed since start', async () => {
    const gate = app.get(QueueGateService);
    // A holder whose lease ended without a release: the next acquire of its model reclaims it.
    const store = new RedisGateStore(admin, prefix);
    await store.acquire({ gate: 'm', holder: 'dead', limit: 5, leaseMs: 20, attempt: 'x1' });
    await sleep(60);
    expect((await gate.acquire('m', { taskId: 'next', limit: 5 })).reclaimed).toBe(1);
    await gate.acquire('m', { taskId: 'a', limit: 5 });
    await gate.acquire('m', { taskId: 'b', limit: 5 });

    const up = await get(`${url}/health`);
    expect(up.status).toBe(200);
    expect(up.json.info['queue-gate']).toMatchObject({
      status: 'up',
      pendingReleases: 0,
      droppedReleases: 0,
      reclaimedLeases: 1,
    });

    // Two releases fail while Redis is gone: the queue keeps one and drops the other.
    await redis.stop();
    await expect(gate.release('m', 'a')).rejects.toBeInstanceOf(GateUnavailableError);
    await expect(gate.release('m', 'b')).rejects.toBeInstanceOf(GateUnavailableError);
    const down = await get(`${url}/health`);
    expect(down.status).toBe(503);
    expect(down.json.error['queue-gate']).toMatchObject({
      status: 'down',
      pendingReleases: 1,
      droppedReleases: 1,
      reclaimedLeases: 1,
    });

    // Back up: the queued release lands; the dropped and reclaimed counts stay, since start.
    await redis.restart();
    await eventually(
      async () => {
        const reply = await get(`${url}/health`);
        expect(reply.status).toBe(200);
        expect(reply.json.info['queue-gate']).toMatchObject({
          status: 'up',
          pendingReleases: 0,
          droppedReleases: 1,
          reclaimedLeases: 1,
        });
      },
      { timeoutMs: 10_000, everyMs: 100 },
    );
  });
});
