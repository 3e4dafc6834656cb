import { Body, Controller, type ExecutionContext, Get, Param, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { GateSlot, type GateSlotInfo, QueueLimited, SkipQueueGate } from '../../src';
import {
  get,
  type HttpApp,
  PLATFORMS,
  post,
  remaining,
  sleep,
  startHttpApp,
} from '../support/http-app';
import { closeClient, newRedis } from '../support/test-redis';

/** How many times the guard got as far as making a task id, per route. */
const taskIdsMade: Record<string, number> = {};

function countedTaskId(route: string) {
  return () => {
    taskIdsMade[route] = (taskIdsMade[route] ?? 0) + 1;
    return randomUUID();
  };
}

const requestOf = (context: ExecutionContext) => context.switchToHttp().getRequest();

@Controller('models')
class ModelSourceController {
  @Post('param/:model')
  @QueueLimited((context) => requestOf(context).params.model, { limit: 1 })
  fromParam(@Param('model') model: string, @GateSlot() slot: GateSlotInfo) {
    return { model, slot };
  }

  @Post('body')
  @QueueLimited((context) => requestOf(context).body?.model, { limit: 1 })
  fromBody(@Body() body: { model: string }, @GateSlot() slot: GateSlotInfo) {
    return { model: body.model, slot };
  }

  @Post('async')
  @QueueLimited(
    async (context) => {
      // A real lookup (tenant → model) would await a database here.
      await sleep(5);
      return `async-${requestOf(context).headers['x-model']}`;
    },
    { limit: 1 },
  )
  fromAsync(@GateSlot() slot: GateSlotInfo) {
    return { slot };
  }

  @Post('throws')
  @QueueLimited(
    () => {
      throw new Error('no model header');
    },
    { limit: 1, taskId: countedTaskId('throws') },
  )
  throws() {
    return { reached: true };
  }

  @Post('invalid')
  @QueueLimited(() => 'bad{model}', { limit: 1, taskId: countedTaskId('invalid') })
  invalid() {
    return { reached: true };
  }

  @Post('missing')
  @QueueLimited((context) => requestOf(context).body?.model, {
    limit: 1,
    taskId: countedTaskId('missing'),
  })
  missing() {
    return { reached: true };
  }
}

@Controller('class')
@QueueLimited('class-model', { limit: 1, retryAfterSeconds: 9 })
class ClassLimitedController {
  @Post('inherit')
  inherit(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('override')
  @QueueLimited('method-model', { limit: 3 })
  override(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('same-model')
  @QueueLimited('class-model', { limit: 2 })
  sameModel(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Get('skip')
  @SkipQueueGate()
  skip(@GateSlot() slot: GateSlotInfo | undefined) {
    return { slot: slot ?? null };
  }
}

@Controller('defaults')
class DefaultsController {
  @Post('module')
  @QueueLimited('defaults-model', { limit: 1 })
  module(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('route')
  @QueueLimited('defaults-route-model', { limit: 1, retryAfterSeconds: 3 })
  route(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

@Controller('limits')
class ModuleLimitsController {
  @Post('mapped')
  @QueueLimited('mapped-model')
  mapped(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('unlimited')
  @QueueLimited('unlisted-model')
  unlimited(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)('@QueueLimited routing over HTTP (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [
        ModelSourceController,
        ClassLimitedController,
        DefaultsController,
        ModuleLimitsController,
      ],
      gate: { queueLimited: { retryAfterSeconds: 7 }, limits: { 'mapped-model': 2 } },
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  const used = async (model: string) => (await app.gate.usage(model)).used;

  describe('the model', () => {
    it('comes from a route param, one gate per model', async () => {
      const first = await post(`${app.url}/models/param/alpha`);
      expect(first.status).toBe(201);
      expect(first.json.slot).toMatchObject({ model: 'alpha', used: 1, limit: 1 });

      const full = await post(`${app.url}/models/param/alpha`);
      expect(full.status).toBe(429);
      expect(full.json).toMatchObject({ model: 'alpha', limit: 1 });
      expect(full.headers.get('ratelimit-policy')).toBe('"alpha";q=1;qu="concurrent-requests"');

      // Another model has its own gate.
      const other = await post(`${app.url}/models/param/beta`);
      expect(other.status).toBe(201);
      expect(other.json.slot.model).toBe('beta');
      expect(await used('alpha')).toBe(1);
      expect(await used('beta')).toBe(1);
    });

    it('may be any name: the RateLimit headers stay valid', async () => {
      const model = 'café "latte"';
      const reply = await post(`${app.url}/models/param/${encodeURIComponent(model)}`);
      expect(reply.status).toBe(201);
      expect(reply.json.slot.model).toBe(model);
      // An sf-string: printable ASCII, quotes escaped.
      expect(reply.headers.get('ratelimit-policy')).toBe(
        '"caf_ \\"latte\\"";q=1;qu="concurrent-requests"',
      );
      expect(reply.headers.get('ratelimit')).toBe('"caf_ \\"latte\\"";r=0');
    });

    it('comes from the body', async () => {
      const first = await post(`${app.url}/models/body`, { model: 'gamma' });
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ model: 'gamma', slot: { model: 'gamma', used: 1 } });
      expect((await post(`${app.url}/models/body`, { model: 'gamma' })).status).toBe(429);
      expect((await post(`${app.url}/models/body`, { model: 'delta' })).status).toBe(201);
      expect(await used('gamma')).toBe(1);
      expect(await used('delta')).toBe(1);
    });

    it('comes from an async function', async () => {
      const first = await post(`${app.url}/models/async`, undefined, { 'x-model': 'one' });
      expect(first.status).toBe(201);
      expect(first.json.slot).toMatchObject({ model: 'async-one', used: 1 });
      const full = await post(`${app.url}/models/async`, undefined, { 'x-model': 'one' });
      expect(full.status).toBe(429);
      expect(full.json.model).toBe('async-one');
      expect(await used('async-one')).toBe(1);
    });

    describe('when it cannot be resolved, answers 400 and leaves the gate untouched', () => {
      it('a resolver that throws', async () => {
        const before = await gateKeys(app);
        const reply = await post(`${app.url}/models/throws`);
        expect(reply.status).toBe(400);
        expect(reply.json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
        expect(reply.json.message).toContain('no model header');
        expect(reply.headers.get('ratelimit')).toBeNull();
        expect(taskIdsMade.throws).toBeUndefined();
        expect(await gateKeys(app)).toEqual(before);
      });

      it('a resolver that returns an invalid name', async () => {
        const before = await gateKeys(app);
        const reply = await post(`${app.url}/models/invalid`);
        expect(reply.status).toBe(400);
        expect(reply.json.message).toContain('bad{model}');
        expect(reply.json.message).toMatch(/"\{" or "\}"/);
        expect(taskIdsMade.invalid).toBeUndefined();
        expect(await gateKeys(app)).toEqual(before);
      });

      it('a resolver that finds no name in the request', async () => {
        const before = await gateKeys(app);
        const reply = await post(`${app.url}/models/missing`, { prompt: 'no model here' });
        expect(reply.status).toBe(400);
        expect(reply.json.message).toMatch(/valid model/);
        expect(taskIdsMade.missing).toBeUndefined();
        expect(await gateKeys(app)).toEqual(before);
      });
    });
  });

  describe('class and method', () => {
    it('a method without its own @QueueLimited takes the class gate and options', async () => {
      const first = await post(`${app.url}/class/inherit`);
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ model: 'class-model', limit: 1, used: 1 });
      const full = await post(`${app.url}/class/inherit`);
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('9');
      await app.gate.release('class-model', first.json.taskId);
    });

    it("the method's model and options override the class's, field by field", async () => {
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await post(`${app.url}/class/override`));
      expect(replies.map((reply) => reply.status)).toEqual([201, 201, 201, 429]);
      expect(replies[0].json).toMatchObject({ model: 'method-model', limit: 3 });
      expect(replies[3].json).toMatchObject({ model: 'method-model', limit: 3 });
      // retryAfterSeconds is not set on the method, so the class's value still applies.
      expect(replies[3].headers.get('retry-after')).toBe('9');
      expect(await used('method-model')).toBe(3);
      expect(await used('class-model')).toBe(0);
    });

    it('takes exactly one slot per request when both carry @QueueLimited', async () => {
      const first = await post(`${app.url}/class/same-model`);
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ model: 'class-model', used: 1, limit: 2 });
      expect(remaining(first.headers)).toBe(1);
      expect((await app.gate.holders('class-model')).map((h) => h.taskId)).toEqual([
        first.json.taskId,
      ]);

      const second = await post(`${app.url}/class/same-model`);
      expect(second.status).toBe(201);
      expect(second.json.used).toBe(2);
      expect((await post(`${app.url}/class/same-model`)).status).toBe(429);
      expect(await used('class-model')).toBe(2);
      await app.gate.release('class-model', first.json.taskId);
      await app.gate.release('class-model', second.json.taskId);
    });

    it('@SkipQueueGate() exempts a route of a limited controller', async () => {
      // Fill the class gate, so a route that went through it would be refused.
      const holder = await post(`${app.url}/class/inherit`);
      expect(holder.status).toBe(201);

      for (let i = 0; i < 3; i++) {
        const reply = await get(`${app.url}/class/skip`);
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ slot: null });
        expect(reply.headers.get('ratelimit')).toBeNull();
      }
      expect(await used('class-model')).toBe(1);
      await app.gate.release('class-model', holder.json.taskId);
    });
  });

  describe('module-level limits', () => {
    it('apply to routes without a limit of their own', async () => {
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await post(`${app.url}/limits/mapped`));
      expect(replies.map((reply) => reply.status)).toEqual([201, 201, 429]);
      expect(replies[2].headers.get('ratelimit-policy')).toBe(
        '"mapped-model";q=2;qu="concurrent-requests"',
      );
      expect(replies[2].json).toMatchObject({ model: 'mapped-model', limit: 2 });
    });

    it('leave a model they do not name unlimited: admitted, counted, no quota headers', async () => {
      for (let i = 1; i <= 3; i++) {
        const reply = await post(`${app.url}/limits/unlimited`);
        expect(reply.status).toBe(201);
        expect(reply.json).toMatchObject({ model: 'unlisted-model', used: i, limit: null });
        expect(reply.headers.get('ratelimit')).toBeNull();
        expect(reply.headers.get('ratelimit-policy')).toBeNull();
      }
      expect(await used('unlisted-model')).toBe(3);
    });
  });

  describe('module-level queueLimited defaults', () => {
    it('apply to routes that do not set the option', async () => {
      expect((await post(`${app.url}/defaults/module`)).status).toBe(201);
      const full = await post(`${app.url}/defaults/module`);
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('7');
    });

    it('yield to the route', async () => {
      expect((await post(`${app.url}/defaults/route`)).status).toBe(201);
      const full = await post(`${app.url}/defaults/route`);
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('3');
    });
  });
});

/**
 * Every gate key under the app's prefix with its members (holders, or token fields): any
 * acquire would change it.
 */
async function gateKeys(app: HttpApp): Promise<Record<string, string[]>> {
  const client = newRedis();
  try {
    const keys = (await client.keys(`${app.keyPrefix}*`)).sort();
    const members = async (key: string) =>
      (await client.type(key)) === 'zset' ? client.zrange(key, 0, -1) : client.hkeys(key);
    const entries = await Promise.all(
      keys.map(async (key) => [key, (await members(key)).sort()] as const),
    );
    return Object.fromEntries(entries);
  } finally {
    await closeClient(client);
  }
}
