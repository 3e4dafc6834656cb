import { Controller, Post } from '@nestjs/common';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import { eventually, type HttpApp, PLATFORMS, post, startHttpApp } from '../support/http-app';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { newRedis } from '../support/test-redis';

const COMMAND_TIMEOUT_MS = 200;
/** Longer than the gate waits: the acquire times out, then runs once Redis resumes. */
const PAUSE_MS = 800;

@Controller()
class StalledController {
  @Post('closed')
  @QueueLimited('stalled-closed', { limit: 5 })
  closed(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('open')
  @QueueLimited('stalled-open', { limit: 5, failOpen: true })
  open(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)('@QueueLimited while Redis stalls (%s)', (platform) => {
  // A private server: pausing the run's shared one would stall every other suite.
  let redis: RedisServer;
  let app: HttpApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startHttpApp(platform, {
      controllers: [StalledController],
      redisUrl: redis.url,
      gate: {
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        pendingReleases: { initialDelayMs: 50, maxDelayMs: 200 },
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  /** Pauses every client of the server for {@link PAUSE_MS}, through a client of its own. */
  async function pauseRedis(): Promise<void> {
    const client = newRedis(redis.url);
    try {
      await client.client('PAUSE', PAUSE_MS, 'ALL');
    } finally {
      // Not QUIT: it would wait out the pause like every other command.
      client.disconnect();
    }
  }

  const used = async (model: string) => (await app.gate.usage(model)).used;

  /**
   * Records what Redis does to a gate's set (keyspace notifications of the private server), so
   * a test can tell "the late acquire landed and was undone" from "it never landed".
   */
  async function watchGate(model: string): Promise<{ events: string[]; stop: () => void }> {
    const subscriber = newRedis(redis.url);
    await subscriber.config('SET', 'notify-keyspace-events', 'Kz');
    const channel = `__keyspace@0__:${app.keyPrefix}{${model}}`;
    const events: string[] = [];
    subscriber.on('message', (from: string, event: string) => {
      if (from === channel) events.push(event);
    });
    await subscriber.subscribe(channel);
    return { events, stop: () => subscriber.disconnect() };
  }

  it('answers 503 to an acquire that timed out, and the acquire that lands later is undone', async () => {
    const gate = await watchGate('stalled-closed');
    await pauseRedis();
    const reply = await post(`${app.url}/closed`);
    expect(reply.status).toBe(503);

    // The acquire reaches Redis when the pause ends and takes a slot nobody will release: the
    // gate undoes it, so the model is free again soon after, not after a lease.
    await eventually(async () => expect(await used('stalled-closed')).toBe(0), {
      timeoutMs: 10_000,
      everyMs: 100,
    });
    expect(await app.gate.holders('stalled-closed')).toEqual([]);
    await eventually(() => expect(gate.events).toEqual(['zadd', 'zrem']));
    gate.stop();
  });

  it('with failOpen, admits untracked and the acquire that lands later is undone', async () => {
    const gate = await watchGate('stalled-open');
    await pauseRedis();
    const reply = await post(`${app.url}/open`);
    expect(reply.status).toBe(201);
    expect(reply.json).toMatchObject({ tracked: false, token: null });

    await eventually(async () => expect(await used('stalled-open')).toBe(0), {
      timeoutMs: 10_000,
      everyMs: 100,
    });
    expect(await app.gate.holders('stalled-open')).toEqual([]);
    await eventually(() => expect(gate.events).toEqual(['zadd', 'zrem']));
    gate.stop();
  });
});
