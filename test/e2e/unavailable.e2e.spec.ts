import { Controller, Post } from '@nestjs/common';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import { eventually, type HttpApp, PLATFORMS, post, startHttpApp } from '../support/http-app';
import { type RedisServer, startRedisServer } from '../support/redis-server';

@Controller()
class OutageController {
  @Post('closed')
  @QueueLimited('closed-model', { limit: 5, release: 'response', retryAfterSeconds: 4 })
  closed(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('open')
  @QueueLimited('open-model', { limit: 5, release: 'response', failOpen: true })
  open(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)('@QueueLimited while Redis is down (%s)', (platform) => {
  // A private server: stopping the run's shared one would break every other suite.
  let redis: RedisServer;
  let app: HttpApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startHttpApp(platform, {
      controllers: [OutageController],
      redisUrl: redis.url,
      gate: { commandTimeoutMs: 300, shutdownTimeoutMs: 1_000 },
    });
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  /** Stops Redis for `during`, then starts it again and waits until the gate admits again. */
  async function withRedisDown(during: () => Promise<void>): Promise<void> {
    // Both routes admit before the outage, so what follows is the outage's doing.
    expect((await post(`${app.url}/closed`)).status).toBe(201);
    expect((await post(`${app.url}/open`)).json.tracked).toBe(true);
    await redis.stop();
    try {
      await during();
    } finally {
      await redis.restart();
      await eventually(async () => expect((await post(`${app.url}/closed`)).status).toBe(201), {
        timeoutMs: 10_000,
        everyMs: 100,
      });
    }
  }

  it('answers 503 with Retry-After by default (fail-closed), and admits again once Redis is back', async () => {
    await withRedisDown(async () => {
      const reply = await post(`${app.url}/closed`);
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBe('4');
      expect(reply.json).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        model: 'closed-model',
      });
      expect(reply.json.message).toContain('closed-model');
      // No quota is known while the gate cannot be read.
      expect(reply.headers.get('ratelimit')).toBeNull();
    });
  });

  it('admits untracked with failOpen: true, warning once per outage', async () => {
    const failOpenWarnings = () =>
      app.logger.fromGate('warn').filter((line) => line.includes('failOpen')).length;
    const before = failOpenWarnings();
    await withRedisDown(async () => {
      for (let i = 0; i < 3; i++) {
        const reply = await post(`${app.url}/open`);
        expect(reply.status).toBe(201);
        expect(reply.json).toMatchObject({
          model: 'open-model',
          tracked: false,
          expiresAt: null,
          limit: null,
        });
        expect(reply.json.taskId).toEqual(expect.any(String));
        expect(reply.headers.get('ratelimit')).toBeNull();
      }
      // The same outage still fails closed where failOpen is not set.
      expect((await post(`${app.url}/closed`)).status).toBe(503);
    });
    expect(failOpenWarnings()).toBe(before + 1);

    // Back to normal: the failOpen route is tracked again.
    const tracked = await post(`${app.url}/open`);
    expect(tracked.status).toBe(201);
    expect(tracked.json).toMatchObject({ tracked: true, limit: 5 });

    // A new outage is a new warning.
    await withRedisDown(async () => {
      expect((await post(`${app.url}/open`)).json.tracked).toBe(false);
      expect((await post(`${app.url}/open`)).json.tracked).toBe(false);
    });
    expect(failOpenWarnings()).toBe(before + 2);
  });
});
