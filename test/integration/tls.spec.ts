import { Controller, type INestApplication, Post } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import {
  GateSlot,
  type GateSlotInfo,
  GateUnavailableError,
  QueueGateModule,
  type QueueGateModuleOptions,
  QueueGateService,
  QueueLimited,
} from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { post } from '../support/http-app';
import { startTlsRedisServer, type TlsRedisServer } from '../support/redis-tls';
import { closeClient, dropKeys, uniquePrefix } from '../support/test-redis';

const COMMAND_TIMEOUT_MS = 1_000;
/** Longest time shutdown spends delivering queued releases (an undelivered acquire's undo). */
const SHUTDOWN_TIMEOUT_MS = 500;
/** Room for a slow machine on top of the command timeout, still far from a hang. */
const SLACK_MS = 1_500;

@Controller()
class TasksController {
  @Post('tasks')
  @QueueLimited('tls-model', { limit: 1 })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

interface App {
  app: INestApplication;
  url: string;
  gate: QueueGateService;
  logger: CapturedLogger;
  /** How long creating, booting and listening took, in ms. */
  bootMs: number;
}

/**
 * The module opening its own connection to a Redis that speaks only TLS, from
 * `redis: { url: 'rediss://…', options: { tls: { ca } } }`; and a module that does not trust the
 * server's CA, which must fail fast and say why instead of hanging.
 */
describe('QueueGateModule on a TLS-only Redis (rediss://)', () => {
  let server: TlsRedisServer;
  let keyPrefix: string;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    server = await startTlsRedisServer();
    process.stdout.write(`TLS redis-server with a fresh CA in ${server.startedInMs} ms\n`);
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(() => (keyPrefix = uniquePrefix('tls')));

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    const client = trustingClient();
    try {
      await dropKeys(client, keyPrefix);
    } finally {
      await closeClient(client);
    }
  });

  const trustingClient = () =>
    new Redis(server.url, { tls: { ca: server.ca }, maxRetriesPerRequest: 1 });

  async function boot(redis: QueueGateModuleOptions['redis']): Promise<App> {
    const started = Date.now();
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueGateModule.forRoot({
          redis,
          keyPrefix,
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
        }),
      ],
      controllers: [TasksController],
    })
      .setLogger(logger)
      .compile();
    const app = moduleRef.createNestApplication(new ExpressAdapter(), { logger });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return {
      app,
      url: `http://127.0.0.1:${port}`,
      gate: app.get(QueueGateService),
      logger,
      bootMs: Date.now() - started,
    };
  }

  it('acquires and releases through a client that trusts the CA', async () => {
    const { gate, url, logger } = await boot({
      url: server.url,
      options: { tls: { ca: server.ca } },
    });

    const slot = await gate.acquire('tls-model', { taskId: 'task-1', limit: 1 });
    expect(slot).toMatchObject({ acquired: true, used: 1 });
    expect((await gate.acquire('tls-model', { limit: 1 })).acquired).toBe(false);
    const client = trustingClient();
    try {
      expect(await client.zrange(`${keyPrefix}{tls-model}`, 0, -1)).toEqual(['task-1']);
    } finally {
      await closeClient(client);
    }
    expect(await gate.release('tls-model', 'task-1', { token: slot.token! })).toBe(true);
    expect((await gate.usage('tls-model')).used).toBe(0);

    const admitted = await post(`${url}/tasks`);
    expect(admitted.status).toBe(201);
    expect((await post(`${url}/tasks`)).status).toBe(429);
    expect(await gate.release('tls-model', admitted.json.taskId)).toBe(true);
    expect(logger.warnings).toEqual([]);
    expect(logger.errors).toEqual([]);
  });

  it(`does not hang when the CA is not trusted: boots, then answers GateUnavailableError and 503 within commandTimeoutMs (${COMMAND_TIMEOUT_MS} ms), and logs the certificate error`, async () => {
    const { app, gate, url, logger, bootMs } = await boot({ url: server.url });
    // Boot waits for the connection at most commandTimeoutMs, then warns and goes on.
    expect(bootMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(logger.warnings).toContain(
      'Redis is not reachable yet; gates answer unavailable until it is.',
    );
    const connectionErrors = [...logger.warnings, ...logger.errors].filter((line) =>
      line.startsWith('Redis connection error:'),
    );
    expect(connectionErrors.join('\n')).toMatch(/certificate/i);

    let started = Date.now();
    const error = await gate.acquire('tls-model', { limit: 1 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(error).toBeInstanceOf(GateUnavailableError);
    expect(error).toMatchObject({ model: 'tls-model', operation: 'acquire' });

    started = Date.now();
    const reply = await post(`${url}/tasks`);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('1');

    // Nothing reached the server.
    const client = trustingClient();
    try {
      expect(await client.exists(`${keyPrefix}{tls-model}`)).toBe(0);
    } finally {
      await closeClient(client);
    }

    // Shutdown gives up on the releases it could not deliver after shutdownTimeoutMs.
    started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS + SLACK_MS);
  });
});
