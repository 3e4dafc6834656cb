import { eventually } from '../support/eventually';
import { RedisModule } from '@liaoliaots/nestjs-redis';
import {
  type DynamicModule,
  Inject,
  Injectable,
  type INestApplicationContext,
  Module,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type AcquireRequest,
  DEFAULT_KEY_PREFIX,
  GateStore,
  GateUnavailableError,
  InvalidQueueGateOptionsError,
  MemoryGateStore,
  MissingDependencyError,
  MissingGateStoreError,
  QueueGateError,
  QueueGateModule,
  type QueueGateOptionsFactory,
  QueueGateService,
} from '../../src';
import { CapturedLogger } from '../support/http-app';
import { freePort, startRedisServer } from '../support/redis-server';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from '../support/test-redis';

/** Configuration an application might keep in its own module, for forRootAsync. */
class AppConfig {
  redisUrl?: string;
  keyPrefix?: string;
  limit?: number;
}

@Module({})
class ConfigModule {
  static with(values: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useValue: values }],
      exports: [AppConfig],
    };
  }
}

/** Makes the gate's options from AppConfig, for useClass and useExisting. */
@Injectable()
class GateOptions implements QueueGateOptionsFactory {
  calls = 0;

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  createQueueGateOptions() {
    this.calls++;
    return { store: 'memory' as const, defaultLimit: this.config.limit };
  }
}

@Module({})
class GateOptionsModule {
  static with(values: AppConfig): DynamicModule {
    return {
      module: GateOptionsModule,
      imports: [ConfigModule.with(values)],
      providers: [GateOptions],
      exports: [GateOptions],
    };
  }
}

/** A provider of another module that needs the gate, for isGlobal. */
@Injectable()
class Worker {
  constructor(@Inject(QueueGateService) readonly gate: QueueGateService) {}
}

@Module({ providers: [Worker], exports: [Worker] })
class WorkerModule {}

/** A custom store: the memory store, with a record of what reached it. */
class CountingStore extends MemoryGateStore {
  readonly acquired: string[] = [];

  override acquire(request: AcquireRequest) {
    this.acquired.push(`${request.gate}/${request.holder}`);
    return super.acquire(request);
  }
}

/** Connection settings of the run's Redis, as ioredis options instead of a URL. */
function redisOptionsOf(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined,
  };
}

/** The run's Redis URL with a client name, so that the connection can be found in CLIENT LIST. */
function namedUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('connectionName', name);
  return parsed.toString();
}

describe('QueueGateModule wiring', () => {
  let plain: Redis;
  let prefix: string;
  let apps: INestApplicationContext[];
  let logger: CapturedLogger;

  beforeAll(() => {
    plain = newRedis();
  });
  afterAll(async () => {
    await closeClient(plain);
  });

  beforeEach(() => {
    prefix = uniquePrefix('wiring');
    apps = [];
    logger = new CapturedLogger();
  });
  afterEach(async () => {
    // Tests close their apps themselves when closing is what they check; the rest close here.
    await Promise.allSettled(apps.map((app) => app.close()));
    await dropKeys(plain, prefix);
  });

  /** Compiles and initialises a testing module of `imports`; closed after the test. */
  async function boot(imports: NonNullable<DynamicModule['imports']>) {
    const app = await Test.createTestingModule({ imports }).setLogger(logger).compile();
    apps.push(app);
    await app.init();
    return app;
  }

  /** Boots `imports` and returns the error it fails with, failing the test if it boots. */
  async function bootError(imports: NonNullable<DynamicModule['imports']>): Promise<Error> {
    try {
      await boot(imports);
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected the application to fail to boot');
  }

  async function clientNames(): Promise<string[]> {
    const list = (await plain.client('LIST')) as string;
    return [...list.matchAll(/ name=(\S*)/g)].map((match) => match[1]);
  }

  async function waitUntilGone(name: string): Promise<void> {
    const end = Date.now() + 3_000;
    while ((await clientNames()).includes(name)) {
      if (Date.now() > end) throw new Error(`connection ${name} is still open`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  describe('Redis sources', () => {
    it("redis.client: uses the user's client and leaves it open after close", async () => {
      // The client's own keyPrefix shows the gate went through this very client.
      const client = new Redis(testRedisUrl(), { keyPrefix: `${prefix}user:` });
      try {
        const app = await boot([
          QueueGateModule.forRoot({ redis: { client }, keyPrefix: 'q:', defaultLimit: 1 }),
        ]);
        const gate = app.get(QueueGateService);
        const first = await gate.acquire('flux');
        expect(first).toMatchObject({ acquired: true, used: 1, limit: 1 });
        expect(await gate.acquire('flux')).toMatchObject({ acquired: false, used: 1 });
        expect(await plain.zrange(`${prefix}user:q:{flux}`, 0, -1)).toEqual([first.taskId]);
        expect(await gate.release('flux', first.taskId)).toBe(true);

        await app.close();
        expect(client.status).toBe('ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        await closeClient(client);
      }
    });

    it('redis.namespace: uses the named client of RedisModule', async () => {
      const url = testRedisUrl();
      const app = await boot([
        RedisModule.forRoot({
          readyLog: false,
          config: [
            { namespace: 'gates', url, keyPrefix: `${prefix}gates:` },
            { url, keyPrefix: `${prefix}default:` },
          ],
        }),
        QueueGateModule.forRoot({ redis: { namespace: 'gates' }, keyPrefix: 'q:' }),
      ]);
      const result = await app.get(QueueGateService).acquire('flux', { taskId: 'ns-task' });
      expect(result.acquired).toBe(true);
      expect(await plain.zrange(`${prefix}gates:q:{flux}`, 0, -1)).toEqual(['ns-task']);
      expect(await plain.exists(`${prefix}default:q:{flux}`)).toBe(0);
    });

    it("no redis option and RedisModule present: uses RedisModule's default namespace", async () => {
      const url = testRedisUrl();
      const app = await boot([
        RedisModule.forRoot({
          readyLog: false,
          config: [
            { namespace: 'other', url, keyPrefix: `${prefix}other:` },
            { url, keyPrefix: `${prefix}default:` },
          ],
        }),
        QueueGateModule.forRoot({ keyPrefix: 'q:' }),
      ]);
      const result = await app.get(QueueGateService).acquire('flux', { taskId: 'default-task' });
      expect(result.acquired).toBe(true);
      expect(await plain.zrange(`${prefix}default:q:{flux}`, 0, -1)).toEqual(['default-task']);
      expect(await plain.exists(`${prefix}other:q:{flux}`)).toBe(0);
    });

    it('redis.url: opens its own client and closes it on app.close()', async () => {
      const name = `qgate-wiring-url-${randomUUID().slice(0, 8)}`;
      // A real application context, as NestFactory builds it.
      const app = await NestFactory.createApplicationContext(
        {
          module: class UrlAppModule {},
          imports: [
            QueueGateModule.forRoot({
              redis: { url: namedUrl(testRedisUrl(), name) },
              keyPrefix: prefix,
            }),
          ],
        },
        { logger, abortOnError: false },
      );
      apps.push(app);
      await app.init();
      const result = await app.get(QueueGateService).acquire('flux', { taskId: 'url-task' });
      expect(result.acquired).toBe(true);
      expect(await plain.zrange(`${prefix}{flux}`, 0, -1)).toEqual(['url-task']);
      expect(await clientNames()).toContain(name);

      await app.close();
      await waitUntilGone(name);
    });

    it('redis.options: opens its own client and closes it on app.close()', async () => {
      const name = `qgate-wiring-options-${randomUUID().slice(0, 8)}`;
      const app = await boot([
        QueueGateModule.forRoot({
          redis: { options: { ...redisOptionsOf(testRedisUrl()), connectionName: name } },
          keyPrefix: prefix,
          defaultLimit: 2,
        }),
      ]);
      const gate = app.get(QueueGateService);
      expect((await gate.acquire('flux', { taskId: 'a' })).acquired).toBe(true);
      expect((await gate.acquire('flux', { taskId: 'b' })).acquired).toBe(true);
      expect((await gate.acquire('flux', { taskId: 'c' })).acquired).toBe(false);
      expect((await plain.zrange(`${prefix}{flux}`, 0, -1)).sort()).toEqual(['a', 'b']);
      expect(await clientNames()).toContain(name);

      await app.close();
      await waitUntilGone(name);
    });

    it("uses the default key prefix 'qgate:' when none is given", async () => {
      const model = `wiring-${randomUUID()}`;
      const key = `${DEFAULT_KEY_PREFIX}{${model}}`;
      try {
        const app = await boot([QueueGateModule.forRoot({ redis: { url: testRedisUrl() } })]);
        await app.get(QueueGateService).acquire(model, { taskId: 't' });
        expect(await plain.zrange(key, 0, -1)).toEqual(['t']);
      } finally {
        // The model name is this test's own, so the key is too.
        await plain.del(key);
      }
    });
  });

  describe('other stores', () => {
    it("store: 'memory' gates within the process and touches no Redis", async () => {
      const app = await boot([QueueGateModule.forRoot({ store: 'memory', defaultLimit: 1 })]);
      const gate = app.get(QueueGateService);
      expect(app.get(GateStore)).toBeInstanceOf(MemoryGateStore);
      const first = await gate.acquire('flux');
      expect(first.acquired).toBe(true);
      expect(await gate.acquire('flux')).toMatchObject({ acquired: false, used: 1 });
      expect(await gate.holders('flux')).toEqual([
        {
          taskId: first.taskId,
          expiresAt: first.expiresAt,
          token: first.token,
          cost: 1,
          tenant: null,
        },
      ]);
    });

    it('a custom GateStore object is used as given', async () => {
      const store = new CountingStore();
      const app = await boot([QueueGateModule.forRoot({ store })]);
      expect(app.get(GateStore)).toBe(store);
      await app.get(QueueGateService).acquire('flux', { taskId: 'custom' });
      expect(store.acquired).toEqual(['flux/custom']);
      expect((await store.holders('flux')).holders.map((h) => h.holder)).toEqual(['custom']);
    });
  });

  describe('forRootAsync', () => {
    it('useFactory with inject and imports takes its options from an imported provider', async () => {
      const app = await boot([
        QueueGateModule.forRootAsync({
          imports: [ConfigModule.with({ redisUrl: testRedisUrl(), keyPrefix: prefix, limit: 1 })],
          inject: [AppConfig],
          useFactory: async (config: AppConfig) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            return {
              redis: { url: config.redisUrl },
              keyPrefix: config.keyPrefix,
              defaultLimit: config.limit,
            };
          },
        }),
      ]);
      const gate = app.get(QueueGateService);
      expect((await gate.acquire('flux', { taskId: 'a' })).acquired).toBe(true);
      expect(await gate.acquire('flux', { taskId: 'b' })).toMatchObject({
        acquired: false,
        limit: 1,
      });
      expect(await plain.zrange(`${prefix}{flux}`, 0, -1)).toEqual(['a']);
    });

    it('useClass builds the factory inside the module, with the imports it needs', async () => {
      const app = await boot([
        QueueGateModule.forRootAsync({
          imports: [ConfigModule.with({ limit: 2 })],
          useClass: GateOptions,
        }),
      ]);
      const gate = app.get(QueueGateService);
      expect(await gate.usage('flux')).toEqual({
        model: 'flux',
        used: 0,
        holders: 0,
        waiting: 0,
        limit: 2,
        available: 2,
      });
      await gate.acquire('flux');
      await gate.acquire('flux');
      expect((await gate.acquire('flux')).acquired).toBe(false);
    });

    it('useExisting uses the factory instance an imported module provides', async () => {
      const app = await boot([
        QueueGateModule.forRootAsync({
          imports: [GateOptionsModule.with({ limit: 3 })],
          useExisting: GateOptions,
        }),
      ]);
      expect((await app.get(QueueGateService).usage('flux')).limit).toBe(3);
      // The imported instance made the options; no second instance was created.
      expect(app.get(GateOptions, { strict: false }).calls).toBe(1);
    });

    it('refuses more or fewer than one way to make the options', () => {
      expect(() =>
        QueueGateModule.forRootAsync({
          useFactory: () => ({ store: 'memory' }),
          useClass: GateOptions,
        }),
      ).toThrow(InvalidQueueGateOptionsError);
      expect(() => QueueGateModule.forRootAsync({})).toThrow(/forRootAsync/);
    });
  });

  describe('isGlobal', () => {
    it('forRoot({ isGlobal }) makes the service injectable in a module that does not import it', async () => {
      const app = await boot([
        QueueGateModule.forRoot({ isGlobal: true, store: 'memory' }),
        WorkerModule,
      ]);
      const worker = app.get(Worker);
      expect(worker.gate).toBe(app.get(QueueGateService));
      expect((await worker.gate.acquire('flux')).acquired).toBe(true);
    });

    it('forRootAsync({ isGlobal }) does the same', async () => {
      const app = await boot([
        QueueGateModule.forRootAsync({ isGlobal: true, useFactory: () => ({ store: 'memory' }) }),
        WorkerModule,
      ]);
      expect(app.get(Worker).gate).toBe(app.get(QueueGateService));
    });

    it('without isGlobal the other module cannot inject it', async () => {
      const error = await bootError([QueueGateModule.forRoot({ store: 'memory' }), WorkerModule]);
      expect(error.message).toContain('Worker');
      expect(error.message).toContain('QueueGateService');
    });
  });

  describe('boot errors', () => {
    it('fails with MissingGateStoreError, saying how to configure a store, when none is given', async () => {
      const error = await bootError([QueueGateModule.forRoot()]);
      expect(error).toBeInstanceOf(MissingGateStoreError);
      expect(error.message).toContain('no store option was given');
      expect(error.message).toContain('redis: { url }');
      expect(error.message).toContain('redis: { client }');
      expect(error.message).toContain('redis: { namespace }');
      expect(error.message).toContain("store: 'memory'");
    });

    it("fails the same way for store: 'redis' without a connection", async () => {
      const error = await bootError([QueueGateModule.forRoot({ store: 'redis' })]);
      expect(error).toBeInstanceOf(MissingGateStoreError);
      expect(error.message).toContain("store is 'redis'");
    });

    it('fails a NestFactory application context too, rather than falling back', async () => {
      const error = await NestFactory.createApplicationContext(
        { module: class NoStoreAppModule {}, imports: [QueueGateModule.forRoot({})] },
        { logger, abortOnError: false },
      ).then(
        (app) => {
          apps.push(app);
          return undefined;
        },
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(MissingGateStoreError);
    });

    it('fails with InvalidQueueGateOptionsError naming a bad option of forRoot', async () => {
      const error = await bootError([
        QueueGateModule.forRoot({ store: 'memory', commandTimeoutMs: -5 }),
      ]);
      expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
      expect((error as InvalidQueueGateOptionsError).option).toBe('commandTimeoutMs');
      expect(error.message).toContain('"commandTimeoutMs"');
      expect(error.message).toContain('-5 (number)');
    });

    it('fails with InvalidQueueGateOptionsError naming a bad option from a factory', async () => {
      const error = await bootError([
        QueueGateModule.forRootAsync({
          useFactory: () => ({ store: 'memory', limits: { flux: -1 } }),
        }),
      ]);
      expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
      expect((error as InvalidQueueGateOptionsError).option).toBe('limits["flux"]');
    });

    it('fails when redis.namespace names a namespace RedisModule does not have', async () => {
      // The failed boot leaves no app to close, so RedisModule's client is closed by hand.
      const created: Redis[] = [];
      try {
        const error = await bootError([
          RedisModule.forRoot({
            readyLog: false,
            config: {
              url: testRedisUrl(),
              keyPrefix: `${prefix}default:`,
              onClientCreated: (client) => created.push(client),
            },
          }),
          QueueGateModule.forRoot({ redis: { namespace: 'missing' } }),
        ]);
        expect(error).toBeInstanceOf(QueueGateError);
        expect(error.message).toContain('"missing"');
      } finally {
        created.forEach((client) => client.disconnect());
      }
    });

    it('fails when redis.namespace is given but RedisModule is not imported', async () => {
      const error = await bootError([QueueGateModule.forRoot({ redis: { namespace: 'gates' } })]);
      expect(error).toBeInstanceOf(MissingDependencyError);
      expect(error.message).toContain('@liaoliaots/nestjs-redis');
      expect(error.message).toContain('RedisModule');
    });
  });

  describe('a Redis that goes down', () => {
    /** Runs `work` and returns its rejection and how long it took to settle. */
    async function timedRejection(work: Promise<unknown>) {
      const started = Date.now();
      const error = await work.then(
        () => undefined,
        (failure: unknown) => failure as Error,
      );
      return { error, took: Date.now() - started };
    }

    it('makes acquire and release reject with GateUnavailableError, quickly (module client)', async () => {
      const server = await startRedisServer();
      try {
        const app = await boot([
          QueueGateModule.forRoot({
            redis: { url: server.url },
            commandTimeoutMs: 300,
            shutdownTimeoutMs: 200,
          }),
        ]);
        const gate = app.get(QueueGateService);
        expect((await gate.acquire('flux', { taskId: 'held' })).acquired).toBe(true);

        await server.stop();
        const acquire = await timedRejection(gate.acquire('flux'));
        expect(acquire.error).toBeInstanceOf(GateUnavailableError);
        expect((acquire.error as GateUnavailableError).operation).toBe('acquire');
        expect(acquire.error?.cause).toBeDefined();
        // Bounded by commandTimeoutMs, with room for a loaded machine.
        expect(acquire.took).toBeLessThan(5_000);

        const release = await timedRejection(gate.release('flux', 'held'));
        expect(release.error).toBeInstanceOf(GateUnavailableError);
        expect((release.error as GateUnavailableError).releaseQueued).toBe(true);
        expect(release.took).toBeLessThan(5_000);
        expect(gate.pendingReleases().queued).toBeGreaterThanOrEqual(1);

        // Once Redis is back the gate answers again and the queued release lands.
        await server.restart();
        const end = Date.now() + 10_000;
        while (gate.pendingReleases().queued > 0 && Date.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(gate.pendingReleases().queued).toBe(0);
        expect((await gate.acquire('flux', { taskId: 'after' })).acquired).toBe(true);
        // Closed while Redis is up, so that the client quits rather than drops a reconnect.
        await app.close();
      } finally {
        await server.stop();
      }
    });

    it('lets the app boot while Redis is unreachable, answering unavailable until it is up', async () => {
      const port = await freePort();
      const started = Date.now();
      const app = await boot([
        QueueGateModule.forRoot({
          redis: { url: `redis://127.0.0.1:${port}` },
          commandTimeoutMs: 300,
          shutdownTimeoutMs: 200,
        }),
      ]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(logger.fromGate('warn').some((line) => line.includes('not reachable'))).toBe(true);
      const gate = app.get(QueueGateService);
      const acquire = await timedRejection(gate.acquire('flux', { taskId: 'early' }));
      expect(acquire.error).toBeInstanceOf(GateUnavailableError);
      expect(acquire.took).toBeLessThan(5_000);

      const server = await startRedisServer({ port });
      try {
        const end = Date.now() + 10_000;
        let result = await gate.acquire('flux', { taskId: 'later' }).catch(() => undefined);
        while (!result && Date.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          result = await gate.acquire('flux', { taskId: 'later' }).catch(() => undefined);
        }
        expect(result?.acquired).toBe(true);
        await app.close();
      } finally {
        await server.stop();
      }
    });

    it("makes acquire reject with GateUnavailableError within the timeout (the user's client)", async () => {
      const server = await startRedisServer();
      // ioredis's defaults: commands wait in the offline queue while it reconnects.
      const client = new Redis(server.url);
      client.on('error', () => {});
      try {
        const app = await boot([
          QueueGateModule.forRoot({
            redis: { client },
            commandTimeoutMs: 300,
            shutdownTimeoutMs: 200,
          }),
        ]);
        const gate = app.get(QueueGateService);
        expect((await gate.acquire('flux')).acquired).toBe(true);

        await server.stop();
        const acquire = await timedRejection(gate.acquire('flux', { taskId: 'late' }));
        expect(acquire.error).toBeInstanceOf(GateUnavailableError);
        expect(acquire.error?.message).toContain('"flux"');
        expect(acquire.took).toBeLessThan(5_000);

        const usage = await timedRejection(gate.usage('flux'));
        expect(usage.error).toBeInstanceOf(GateUnavailableError);
        expect((usage.error as GateUnavailableError).operation).toBe('usage');
        expect(usage.took).toBeLessThan(5_000);

        // Redis back: the same client serves the gate again, without a new app.
        await server.restart();
        const end = Date.now() + 10_000;
        while (client.status !== 'ready' && Date.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // The acquire that timed out was queued by the client and replayed after the restart;
        // the release fenced to it undoes it, so no slot stays held by a caller told "no".
        await eventually(
          async () => {
            expect((await gate.usage('flux')).used).toBe(0);
            expect(gate.pendingReleases().queued).toBe(0);
          },
          { timeoutMs: 10_000 },
        );
        await app.close();
        expect(client.status).toBe('ready');
        await client.quit();
      } finally {
        client.disconnect();
        await server.stop();
      }
    });
  });
});
