import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  QueueGate,
  QueueGateModule,
  QueueGateService,
  RedisGateStore,
  UnfitGateStoreError,
} from '../../src';
import { CapturedLogger } from '../support/captured-logger';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { closeClient, uniquePrefix } from '../support/test-redis';

const PREFIX = 'doctor-test:';

/**
 * The least-privilege ACL of a gate under PREFIX, as the README documents it: its keys and
 * channels, the commands its scripts call, and what ioredis and the doctor send.
 */
const GATE_ACL = [
  `~${PREFIX}*`,
  `&${PREFIX}*`,
  '+ping',
  '+info',
  '+config|get',
  '+evalsha',
  '+eval',
  '+subscribe',
  '+unsubscribe',
  '+ssubscribe',
  '+sunsubscribe',
  // Called by the scripts.
  '+time',
  '+zadd',
  '+zrem',
  '+zcard',
  '+zcount',
  '+zscore',
  '+zrank',
  '+zrange',
  '+zrangebyscore',
  '+hget',
  '+hmget',
  '+hset',
  '+hdel',
  '+hincrby',
  '+pttl',
  '+pexpireat',
  '+publish',
  '+spublish',
  // snapshot()
  '+scan',
  '+type',
  '+zrevrangebyscore',
];

/** The doctor against a private Redis: ACL users and CONFIG changes must not reach other tests. */
describe('the doctor on a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    await admin.acl('SETUSER', 'gate', 'on', '>gate-pw', ...GATE_ACL);
    await admin.acl('SETUSER', 'notime', 'on', '>pw', '~*', '&*', '+@all', '-time');
    await admin.acl('SETUSER', 'elsewhere', 'on', '>pw', '~other:*', '&*', '+@all');
  });

  afterEach(async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await Promise.all(clients.splice(0).map((client) => closeClient(client)));
  });

  afterAll(async () => {
    await closeClient(admin);
    await server.stop();
  });

  function connect(user?: string, password?: string): Redis {
    const client = new Redis(server.port, '127.0.0.1', {
      username: user,
      password,
      maxRetriesPerRequest: 1,
    });
    clients.push(client);
    return client;
  }

  async function findings(client: Redis) {
    return new QueueGate(new RedisGateStore(client, PREFIX)).doctor();
  }

  it('names the server and notes a Redis with neither AOF nor a replica', async () => {
    const found = await findings(connect());
    expect(found).toEqual([
      {
        severity: 'info',
        check: 'server',
        message: expect.stringMatching(/^Redis 7\.\d+\.\d+ \(standalone, role master\)/),
      },
      { severity: 'info', check: 'durability', message: expect.stringContaining('No AOF') },
    ]);
  });

  it('warns about an eviction policy that could evict a gate', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const found = await findings(connect());
    expect(found).toContainEqual({
      severity: 'warning',
      check: 'eviction',
      message: expect.stringContaining('"allkeys-lru"'),
    });
  });

  it('finds nothing wrong under the documented least-privilege ACL, and the gate works there', async () => {
    const client = connect('gate', 'gate-pw');
    const gate = new QueueGate(new RedisGateStore(client, PREFIX), { limits: { m: 1 } });
    try {
      const found = await gate.doctor();
      expect(found.filter((finding) => finding.severity !== 'info')).toEqual([]);
      const held = await gate.acquire('m', { taskId: 'a' });
      const waiter = gate.acquire('m', { taskId: 'b', waitMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await gate.release('m', 'a', { token: held.token! });
      const admitted = await waiter;
      expect(admitted).toMatchObject({ acquired: true, taskId: 'b' });
      const { gates } = await gate.snapshot();
      expect(gates).toContainEqual(expect.objectContaining({ model: 'm', used: 1 }));
      await gate.release('m', 'b', { token: admitted.token! });
      expect(await gate.usage('m')).toMatchObject({ used: 0, waiting: 0 });
    } finally {
      await gate.close(0);
    }
  });

  it('reports an error when a script may not read the server clock', async () => {
    const found = await findings(connect('notime', 'pw'));
    expect(found).toContainEqual({
      severity: 'error',
      check: 'script-time',
      message: expect.stringMatching(/TIME inside a script failed.*can't run this command/s),
    });
  });

  it('reports an error when the user may not touch the key prefix', async () => {
    const found = await findings(connect('elsewhere', 'pw'));
    expect(found).toContainEqual({
      severity: 'error',
      check: 'access',
      message: expect.stringContaining(`~${PREFIX}*`),
    });
  });

  describe('at boot', () => {
    async function boot(url: string, doctor?: boolean) {
      const logger = new CapturedLogger();
      const app = await Test.createTestingModule({
        imports: [QueueGateModule.forRoot({ redis: { url }, keyPrefix: PREFIX, doctor })],
      })
        .setLogger(logger)
        .compile();
      return { app, logger };
    }

    it('fails the boot at once, naming the cause, when the user may not touch the prefix', async () => {
      const { app, logger } = await boot(`redis://elsewhere:pw@127.0.0.1:${server.port}`);
      const started = Date.now();
      const error = await app.init().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(UnfitGateStoreError);
      expect((error as UnfitGateStoreError).message).toContain('[access]');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(
        logger.lines.some(
          (line) => line.level === 'error' && /Doctor \[access\]/.test(line.message),
        ),
      ).toBe(true);
    });

    it('logs what it found and boots on a fit server', async () => {
      const { app, logger } = await boot(`redis://gate:gate-pw@127.0.0.1:${server.port}`);
      await app.init();
      try {
        expect(logger.lines.map((line) => line.message)).toContainEqual(
          expect.stringMatching(/^Doctor \[server\]: Redis 7/),
        );
        expect((await app.get(QueueGateService).acquire('m')).acquired).toBe(true);
      } finally {
        await app.close();
      }
    });

    it('boots anyway with doctor: false', async () => {
      const { app, logger } = await boot(`redis://notime:pw@127.0.0.1:${server.port}`, false);
      await app.init();
      await app.close();
      expect(logger.lines.some((line) => line.message.startsWith('Doctor'))).toBe(false);
    });
  });

  it('keeps unique prefixes apart from other suites', () => {
    expect(uniquePrefix('doctor')).not.toBe(PREFIX);
  });
});
