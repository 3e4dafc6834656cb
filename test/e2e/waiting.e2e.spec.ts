import { Controller, type ExecutionContext, Get, Headers } from '@nestjs/common';
import * as http from 'node:http';
import { InvalidQueueGateOptionsError, QueueLimited, type QueueLimitedOptions } from '../../src';
import {
  eventually,
  get,
  type HttpApp,
  type HttpReply,
  PLATFORMS,
  request,
  sleep,
  startHttpApp,
} from '../support/http-app';
import { closeClient, newRedis } from '../support/test-redis';

/**
 * Requests parked in their handler until the test lets them go, by the id in their `x-hold`
 * header: a slot held for exactly as long as a test needs it, without sleeping for it.
 */
class Holds {
  private readonly open = new Map<string, () => void>();

  park(id: string): Promise<{ held: string }> {
    return new Promise((resolve) => this.open.set(id, () => resolve({ held: id })));
  }

  has(id: string): boolean {
    return this.open.has(id);
  }

  release(id: string): void {
    const resolve = this.open.get(id);
    this.open.delete(id);
    resolve?.();
  }

  releaseAll(): void {
    for (const id of [...this.open.keys()]) this.release(id);
  }
}

const holds = new Holds();

/** What the handlers of the waiting routes saw: the order they started in and the most at once. */
const trace = {
  started: [] as string[],
  inFlight: 0,
  maxInFlight: 0,
  reset() {
    this.started = [];
    this.inFlight = 0;
    this.maxInFlight = 0;
  },
  enter(label: string) {
    this.started.push(label);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
  },
  leave() {
    this.inFlight -= 1;
  },
};

const tenantOf = (context: ExecutionContext) =>
  context.switchToHttp().getRequest().headers['x-tenant'] as string | undefined;

/** How long each handler of the FIFO route takes. */
const WORK_MS = 120;

@Controller('fifo')
class FifoController {
  @Get('work')
  @QueueLimited('m', { waitSeconds: 5, release: 'response' })
  async work(@Headers('x-seq') seq: string) {
    trace.enter(seq);
    try {
      await sleep(WORK_MS);
    } finally {
      trace.leave();
    }
    return { seq };
  }
}

@Controller('wait')
class WaitController {
  @Get('hold')
  @QueueLimited('m', { release: 'response' })
  hold(@Headers('x-hold') id: string) {
    return holds.park(id);
  }

  @Get('short')
  @QueueLimited('m', { waitSeconds: 0.2, release: 'response' })
  short() {
    trace.enter('short');
    trace.leave();
    return { handled: 'short' };
  }

  @Get('patient')
  @QueueLimited('m', { waitSeconds: 10, release: 'response' })
  patient(@Headers('x-seq') seq: string) {
    trace.enter(seq);
    trace.leave();
    return { handled: seq };
  }
}

@Controller('tenant')
class TenantController {
  @Get('hold')
  @QueueLimited('m', { tenant: tenantOf, release: 'response' })
  hold(@Headers('x-hold') id: string) {
    return holds.park(id);
  }

  @Get('now')
  @QueueLimited('m', { tenant: tenantOf, release: 'response' })
  now() {
    return { handled: true };
  }
}

@Controller('cost')
class CostController {
  @Get('hold')
  @QueueLimited('m', { cost: 2, release: 'response' })
  hold(@Headers('x-hold') id: string) {
    return holds.park(id);
  }

  @Get('now')
  @QueueLimited('m', { cost: 2, release: 'response' })
  now() {
    return { handled: true };
  }

  @Get('wait')
  @QueueLimited('m', { cost: 2, waitSeconds: 5, release: 'response' })
  wait() {
    return { handled: 'waited' };
  }
}

/** Starts a request parked in its handler (holding its slot) and waits until it is there. */
async function holdSlot(app: HttpApp, path: string, id: string, headers = {}) {
  const reply = get(`${app.url}${path}`, { ...headers, 'x-hold': id });
  await eventually(() => expect(holds.has(id)).toBe(true), { timeoutMs: 3_000 });
  return {
    reply,
    async end(): Promise<HttpReply> {
      holds.release(id);
      return reply;
    },
  };
}

/**
 * A GET whose client can vanish mid-request: `leave()` destroys its socket, as a browser tab
 * that is closed. `settled` resolves once the request is over either way.
 */
function leavableGet(url: string, headers: Record<string, string>) {
  const req = http.request(url, { method: 'GET', headers, agent: false });
  const settled = new Promise<number | 'left'>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('left'));
    req.on('close', () => resolve('left'));
  });
  req.end();
  return { leave: () => req.destroy(), settled };
}

function waitedMs(reply: HttpReply): number {
  const header = reply.headers.get('queue-waited-ms');
  expect(header).toMatch(/^\d+$/);
  return Number(header);
}

describe.each(PLATFORMS)('@QueueLimited waitSeconds over HTTP (%s)', (platform) => {
  describe('fair waiting on a limit of 2', () => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startHttpApp(platform, {
        controllers: [FifoController],
        gate: { limits: { m: 2 } },
      });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('serves every waiting request in arrival order, never more than the limit at once, with Queue-Waited-Ms', async () => {
      trace.reset();
      const n = 6;
      const replies: Promise<HttpReply>[] = [];
      for (let i = 0; i < n; i++) {
        replies.push(get(`${app.url}/fifo/work`, { 'x-seq': String(i) }));
        // Arrivals far enough apart that their order at the gate is the order they were sent.
        await sleep(25);
      }
      const answered = await Promise.all(replies);

      expect(answered.map((reply) => reply.status)).toEqual(Array(n).fill(200));
      expect(answered.map((reply) => reply.json.seq)).toEqual(
        Array.from({ length: n }, (_, i) => String(i)),
      );
      expect(trace.started).toEqual(Array.from({ length: n }, (_, i) => String(i)));
      expect(trace.maxInFlight).toBeLessThanOrEqual(2);
      expect(trace.maxInFlight).toBeGreaterThanOrEqual(1);

      const waits = answered.map(waitedMs);
      // The first two found free slots; every later one queued behind a 120 ms handler.
      for (const waited of waits.slice(2)) expect(waited).toBeGreaterThan(0);
      expect(waits[n - 1]).toBeGreaterThan(waits[0]);
      for (const reply of answered) expect(reply.headers.get('queue-position')).toBeNull();

      await eventually(async () =>
        expect(await app.gate.usage('m')).toMatchObject({ used: 0, holders: 0, waiting: 0 }),
      );
    });
  });

  describe('deadline and disconnect on a limit of 1', () => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startHttpApp(platform, {
        controllers: [WaitController],
        gate: { limits: { m: 1 } },
      });
    });

    beforeEach(() => trace.reset());

    afterEach(async () => {
      holds.releaseAll();
      await eventually(async () =>
        expect(await app.gate.usage('m')).toMatchObject({ used: 0, waiting: 0 }),
      );
    });

    afterAll(async () => {
      holds.releaseAll();
      await app?.close();
    });

    it('answers 429 with Queue-Waited-Ms, Queue-Position and Retry-After when waitSeconds runs out, and leaves the queue', async () => {
      const holder = await holdSlot(app, '/wait/hold', 'deadline-holder');
      // Should the deadline never come, the holder goes after 3 s and the waiter is answered 200.
      const fallback = setTimeout(() => holds.release('deadline-holder'), 3_000);
      try {
        const started = performance.now();
        const refused = await get(`${app.url}/wait/short`);
        const elapsed = performance.now() - started;
        // Refused while the slot was still held: by the deadline, not by the holder leaving.
        expect(holds.has('deadline-holder')).toBe(true);

        expect(refused.status).toBe(429);
        expect(elapsed).toBeGreaterThanOrEqual(150);
        expect(waitedMs(refused)).toBeGreaterThanOrEqual(150);
        expect(refused.headers.get('queue-position')).toBe('1');
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(refused.headers.get('ratelimit-policy')).toBe('"m";q=1;qu="concurrent-requests"');
        expect(refused.headers.get('ratelimit')).toBe('"m";r=0');
        expect(refused.json).toMatchObject({
          statusCode: 429,
          model: 'm',
          limit: 1,
          limitHit: 'model',
          position: 1,
        });
        expect(trace.started).toEqual([]);
        expect(await app.gate.usage('m')).toMatchObject({ used: 1, holders: 1, waiting: 0 });
      } finally {
        clearTimeout(fallback);
      }

      const held = await holder.end();
      expect(held.status).toBe(200);
      expect(held.headers.get('queue-waited-ms')).toBeNull();
      await eventually(async () => expect((await app.gate.usage('m')).used).toBe(0));
    });

    it('takes a waiter whose client disconnects out of the queue at once, never admits it, and admits the next request', async () => {
      // Every admission handed to a waiter is announced on this channel.
      const subscriber = newRedis();
      const handedOff: string[] = [];
      try {
        subscriber.on('message', (_channel: string, message: string) => handedOff.push(message));
        await subscriber.subscribe(`${app.keyPrefix}{m}:admitted`);

        const holder = await holdSlot(app, '/wait/hold', 'disconnect-holder');
        const leaving = leavableGet(`${app.url}/wait/patient`, { 'x-seq': 'gone' });
        await eventually(async () => expect((await app.gate.usage('m')).waiting).toBe(1), {
          timeoutMs: 3_000,
        });

        leaving.leave();
        expect(await leaving.settled).toBe('left');
        // Promptly: the waiter's heartbeat would keep its place for the whole 10 s otherwise.
        await eventually(async () => expect((await app.gate.usage('m')).waiting).toBe(0), {
          timeoutMs: 1_000,
        });
        expect(await app.gate.usage('m')).toMatchObject({ used: 1, holders: 1 });

        expect((await holder.end()).status).toBe(200);
        await eventually(async () => expect((await app.gate.usage('m')).used).toBe(0));
        // Nobody was waiting any more: the freed slot goes to nobody, and stays free.
        await sleep(300);
        expect(await app.gate.usage('m')).toMatchObject({ used: 0, holders: 0, waiting: 0 });
        expect(await app.gate.holders('m')).toEqual([]);
        expect(handedOff).toEqual([]);
        expect(trace.started).toEqual([]);

        const next = await get(`${app.url}/wait/patient`, { 'x-seq': 'next' });
        expect(next.status).toBe(200);
        expect(next.json).toEqual({ handled: 'next' });
        expect(trace.started).toEqual(['next']);
      } finally {
        await closeClient(subscriber);
      }
    });
  });

  describe('tenant shares: limit 3, perTenant 1', () => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startHttpApp(platform, {
        controllers: [TenantController],
        gate: { limits: { m: { limit: 3, perTenant: 1 } } },
      });
    });

    afterAll(async () => {
      holds.releaseAll();
      await app?.close();
    });

    it("refuses a tenant past its share with limitHit 'tenant' while another tenant is admitted, with both policies in the RateLimit headers", async () => {
      const holder = await holdSlot(app, '/tenant/hold', 'tenant-a', { 'x-tenant': 'A' });
      expect(await app.gate.usage('m', { tenant: 'A' })).toMatchObject({
        used: 1,
        tenantUsed: 1,
        tenantLimit: 1,
      });

      const refused = await get(`${app.url}/tenant/now`, { 'x-tenant': 'A' });
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({
        statusCode: 429,
        model: 'm',
        limit: 1,
        limitHit: 'tenant',
      });
      expect(refused.json.message).toContain('"A"');
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('queue-waited-ms')).toBeNull();
      expect(refused.headers.get('ratelimit-policy')).toBe(
        '"m";q=3;qu="concurrent-requests", "m/tenant";q=1;qu="concurrent-requests"',
      );
      expect(refused.headers.get('ratelimit')).toBe('"m";r=2, "m/tenant";r=0');

      const other = await get(`${app.url}/tenant/now`, { 'x-tenant': 'B' });
      expect(other.status).toBe(200);
      expect(other.json).toEqual({ handled: true });
      expect(other.headers.get('ratelimit-policy')).toBe(
        '"m";q=3;qu="concurrent-requests", "m/tenant";q=1;qu="concurrent-requests"',
      );
      // B took the second of 3 units and the only one of its share.
      expect(other.headers.get('ratelimit')).toBe('"m";r=1, "m/tenant";r=0');

      expect((await holder.end()).status).toBe(200);
      await eventually(async () =>
        expect(await app.gate.usage('m', { tenant: 'A' })).toMatchObject({
          used: 0,
          tenantUsed: 0,
        }),
      );
      expect((await get(`${app.url}/tenant/now`, { 'x-tenant': 'A' })).status).toBe(200);
    });
  });

  describe('weighted requests: cost 2 on a limit of 3', () => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startHttpApp(platform, {
        controllers: [CostController],
        gate: { limits: { m: 3 } },
      });
    });

    afterEach(async () => {
      holds.releaseAll();
      await eventually(async () =>
        expect(await app.gate.usage('m')).toMatchObject({ used: 0, waiting: 0 }),
      );
    });

    afterAll(async () => {
      holds.releaseAll();
      await app?.close();
    });

    it('counts a request as 2 units, so a second one does not fit and gets 429', async () => {
      const holder = await holdSlot(app, '/cost/hold', 'cost-holder');
      expect(await app.gate.usage('m')).toMatchObject({
        used: 2,
        holders: 1,
        limit: 3,
        available: 1,
      });

      const refused = await get(`${app.url}/cost/now`);
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ model: 'm', limit: 3, limitHit: 'model' });
      expect(refused.headers.get('ratelimit')).toBe('"m";r=1');
      expect(await app.gate.usage('m')).toMatchObject({ used: 2, holders: 1 });

      const held = await holder.end();
      expect(held.status).toBe(200);
      expect(held.headers.get('ratelimit')).toBe('"m";r=1');
      await eventually(async () => expect((await app.gate.usage('m')).used).toBe(0));
    });

    it('lets a second weighted request wait and admits it once the first ends', async () => {
      const holder = await holdSlot(app, '/cost/hold', 'cost-holder-2');
      const waiting = get(`${app.url}/cost/wait`);
      await eventually(async () =>
        expect(await app.gate.usage('m')).toMatchObject({ used: 2, holders: 1, waiting: 1 }),
      );

      expect((await holder.end()).status).toBe(200);
      const admitted = await waiting;
      expect(admitted.status).toBe(200);
      expect(admitted.json).toEqual({ handled: 'waited' });
      expect(waitedMs(admitted)).toBeGreaterThan(0);
      expect(admitted.headers.get('ratelimit')).toBe('"m";r=1');
      await eventually(async () =>
        expect(await app.gate.usage('m')).toMatchObject({ used: 0, holders: 0, waiting: 0 }),
      );
    });
  });
});

/**
 * The connection the module opens itself has `lazyConnect: true` and `enableOfflineQueue:
 * false`, and the admission subscriber's copy of it inherits both: it must connect before its
 * first SUBSCRIBE, or the first waiting room would learn of admissions only by the heartbeat.
 */
describe('the first waiting request of a fresh app', () => {
  it('is admitted when the holder releases, not at the next heartbeat', async () => {
    const app = await startHttpApp('express', {
      controllers: [WaitController],
      // A heartbeat every 10 s: an admission it finds would come far past the bound below.
      gate: { limits: { m: 1 }, waiting: { waiterLeaseMs: 30_000 } },
    });
    const client = new AbortController();
    try {
      const holder = await holdSlot(app, '/wait/hold', 'fresh-holder');
      const waiting = request('GET', `${app.url}/wait/patient`, {
        headers: { 'x-seq': 'fresh' },
        signal: client.signal,
      });
      await eventually(async () => expect((await app.gate.usage('m')).waiting).toBe(1), {
        timeoutMs: 3_000,
      });
      expect((await holder.end()).status).toBe(200);

      // The store hands the slot over on the release and announces it: a generous bound.
      const admitted = await Promise.race([
        waiting,
        sleep(3_000).then(() => 'still waiting' as const),
      ]);
      expect(admitted).not.toBe('still waiting');
      expect((admitted as HttpReply).status).toBe(200);
      expect(app.logger.warnings.join('\n')).not.toContain('cannot listen for admissions');
    } finally {
      client.abort();
      holds.releaseAll();
      await app.close();
    }
  });
});

describe('invalid waiting, tenant and cost options', () => {
  function decorationError(options: unknown): InvalidQueueGateOptionsError {
    try {
      QueueLimited('m', options as QueueLimitedOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
      return error as InvalidQueueGateOptionsError;
    }
    throw new Error('expected @QueueLimited to refuse its options');
  }

  it.each([
    ['waitSeconds', { waitSeconds: -1 }, '-1'],
    ['cost', { cost: 0 }, '0'],
    ['tenant', { tenant: 'x' }, '"x"'],
  ])('@QueueLimited refuses %s at decoration', (name, options, shown) => {
    const error = decorationError(options);
    expect(error.option).toBe(`@QueueLimited options.${name}`);
    expect(error.message).toContain(`"@QueueLimited options.${name}"`);
    expect(error.message).toContain(shown);
  });

  async function bootError(gate: object): Promise<InvalidQueueGateOptionsError> {
    let app: HttpApp | undefined;
    try {
      app = await startHttpApp('express', { controllers: [CostController], gate });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
      return error as InvalidQueueGateOptionsError;
    }
    await app.close();
    throw new Error('expected the application to fail to boot');
  }

  it('refuses waiting.waiterLeaseMs: 0 at boot', async () => {
    const error = await bootError({ waiting: { waiterLeaseMs: 0 } });
    expect(error.option).toBe('waiting.waiterLeaseMs');
    expect(error.message).toContain('"waiting.waiterLeaseMs"');
  });

  it('refuses a limits entry with a misspelt field at boot, naming the field', async () => {
    const error = await bootError({ limits: { m: { limit: 2, perTenat: 1 } } });
    expect(error.option).toBe('limits["m"]');
    expect(error.message).toContain('perTenat');
  });
});
