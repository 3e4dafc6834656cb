import { Controller, Post } from '@nestjs/common';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import {
  eventually,
  type HttpApp,
  type HttpReply,
  PLATFORMS,
  post,
  remaining,
  sleep,
  startHttpApp,
} from '../support/http-app';

const LIMIT = 5;

@Controller()
class TasksController {
  @Post('tasks')
  @QueueLimited('burst-model', { limit: LIMIT })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('quiet')
  @QueueLimited('quiet-model', { limit: 1, headers: false })
  quiet(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('held')
  @QueueLimited('held-model', { limit: 2 })
  held(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

function burst(app: HttpApp, n: number): Promise<HttpReply[]> {
  return Promise.all(Array.from({ length: n }, () => post(`${app.url}/tasks`)));
}

function byStatus(replies: HttpReply[]): Record<number, HttpReply[]> {
  const groups: Record<number, HttpReply[]> = {};
  for (const reply of replies) (groups[reply.status] ??= []).push(reply);
  return groups;
}

describe.each(PLATFORMS)('@QueueLimited admission over HTTP (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, { controllers: [TasksController] });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('admits exactly the limit out of 50 concurrent requests, refuses the rest with 429, and admits exactly one more after a release', async () => {
    const replies = await burst(app, 50);
    const groups = byStatus(replies);
    expect(Object.keys(groups).sort()).toEqual(['201', '429']);
    expect(groups[201]).toHaveLength(LIMIT);
    expect(groups[429]).toHaveLength(50 - LIMIT);

    const policy = `"burst-model";q=${LIMIT};qu="concurrent-requests"`;
    for (const refused of groups[429]) {
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('ratelimit-policy')).toBe(policy);
      expect(refused.headers.get('ratelimit')).toBe('"burst-model";r=0');
      expect(refused.json).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        model: 'burst-model',
        limit: LIMIT,
      });
      expect(refused.json.message).toContain('burst-model');
      expect(refused.json.message).toContain(String(LIMIT));
    }

    // Each admission saw the count its own acquire left, so the remainders are all distinct.
    const admitted = groups[201];
    for (const reply of admitted) {
      expect(reply.headers.get('ratelimit-policy')).toBe(policy);
      expect(reply.headers.get('retry-after')).toBeNull();
    }
    expect(admitted.map((reply) => remaining(reply.headers)).sort()).toEqual([0, 1, 2, 3, 4]);
    const slots = admitted.map((reply) => reply.json as GateSlotInfo);
    expect(slots.map((slot) => slot.used).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const slot of slots) {
      expect(slot).toMatchObject({ model: 'burst-model', limit: LIMIT, tracked: true });
      expect(slot.expiresAt).toEqual(expect.any(Number));
    }
    const taskIds = slots.map((slot) => slot.taskId);
    expect(new Set(taskIds).size).toBe(LIMIT);
    expect((await app.gate.holders('burst-model')).map((h) => h.taskId).sort()).toEqual(
      [...taskIds].sort(),
    );

    expect(await app.gate.release('burst-model', taskIds[0])).toBe(true);
    expect((await app.gate.usage('burst-model')).used).toBe(LIMIT - 1);

    const second = byStatus(await burst(app, 20));
    expect(second[201]).toHaveLength(1);
    expect(second[429]).toHaveLength(19);
    expect(second[201][0].json.taskId).not.toBe(taskIds[0]);
    expect(remaining(second[201][0].headers)).toBe(0);
    expect((await app.gate.usage('burst-model')).used).toBe(LIMIT);
  });

  it('sends no RateLimit headers with headers: false, on admitted and refused responses', async () => {
    const admitted = await post(`${app.url}/quiet`);
    const refused = await post(`${app.url}/quiet`);

    expect(admitted.status).toBe(201);
    expect(refused.status).toBe(429);
    for (const reply of [admitted, refused]) {
      expect(reply.headers.get('ratelimit')).toBeNull();
      expect(reply.headers.get('ratelimit-policy')).toBeNull();
    }
    // Retry-After is the answer to a refusal, not a quota header: it stays.
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json).toMatchObject({ statusCode: 429, model: 'quiet-model', limit: 1 });
  });

  it("keeps the slot after a successful response with release: 'event' until QueueGateService.release", async () => {
    const first = await post(`${app.url}/held`);
    expect(first.status).toBe(201);
    const slot = first.json as GateSlotInfo;
    expect(slot).toMatchObject({ model: 'held-model', used: 1, limit: 2, tracked: true });

    // Give a release on response close, which must not happen here, time to happen.
    await sleep(200);
    expect((await app.gate.usage('held-model')).used).toBe(1);
    expect((await app.gate.holders('held-model')).map((h) => h.taskId)).toEqual([slot.taskId]);

    const second = await post(`${app.url}/held`);
    expect(second.status).toBe(201);
    expect(second.json.used).toBe(2);
    expect((await post(`${app.url}/held`)).status).toBe(429);

    expect(await app.gate.release('held-model', slot.taskId)).toBe(true);
    expect((await app.gate.holders('held-model')).map((h) => h.taskId)).toEqual([
      second.json.taskId,
    ]);
    const third = await post(`${app.url}/held`);
    expect(third.status).toBe(201);
    expect(third.json.used).toBe(2);
    // Still held after its response too.
    await eventually(async () => expect((await app.gate.usage('held-model')).used).toBe(2));
  });
});
