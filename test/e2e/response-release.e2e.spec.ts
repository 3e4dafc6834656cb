import { Controller, type MessageEvent, Post, Sse } from '@nestjs/common';
import { concat, type Observable, of, Subject } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueGateService, QueueLimited } from '../../src';
import {
  type EventStream,
  eventually,
  type HttpApp,
  type HttpReply,
  isEventStream,
  openEventStream,
  PLATFORMS,
  post,
  remaining,
  sleep,
  startHttpApp,
} from '../support/http-app';
import { closeClient, newRedis } from '../support/test-redis';

/** Lease of every slot in this suite, short so that a stream outlives several of them. */
const LEASE_SECONDS = 0.8;

/** The producer of each open stream, by task id: the test decides when a stream speaks or ends. */
const producers = new Map<string, Subject<MessageEvent>>();

@Controller('llm')
class StreamController {
  constructor(private readonly gate: QueueGateService) {}

  @Sse('tokens')
  @QueueLimited('llm', { limit: 1, release: 'response' })
  tokens(@GateSlot() slot: GateSlotInfo): Observable<MessageEvent> {
    const producer = new Subject<MessageEvent>();
    producers.set(slot.taskId, producer);
    return concat(of({ type: 'slot', data: slot }), producer);
  }

  @Post('complete')
  @QueueLimited('sync', { limit: 1, release: 'response' })
  async complete(@GateSlot() slot: GateSlotInfo) {
    const { used } = await this.gate.usage('sync');
    return { slot, usedWhileHandling: used };
  }
}

/** Opens a stream that must be admitted, and returns it with its slot (its first event). */
async function admittedStream(app: HttpApp): Promise<{ stream: EventStream; slot: GateSlotInfo }> {
  const opened = await openEventStream(`${app.url}/llm/tokens`);
  if (!isEventStream(opened)) {
    throw new Error(`stream refused: ${opened.status} ${opened.text}`);
  }
  expect(opened.status).toBe(200);
  const first = await opened.next();
  expect(first?.type).toBe('slot');
  return { stream: opened, slot: first!.data as GateSlotInfo };
}

async function refusedStream(app: HttpApp): Promise<HttpReply> {
  const opened = await openEventStream(`${app.url}/llm/tokens`);
  if (isEventStream(opened)) {
    opened.disconnect();
    throw new Error('a stream was admitted on a full gate');
  }
  return opened;
}

describe.each(PLATFORMS)("release: 'response' over HTTP (%s)", (platform) => {
  let app: HttpApp;
  const open: EventStream[] = [];

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [StreamController],
      gate: { lease: { minSeconds: LEASE_SECONDS, maxSeconds: LEASE_SECONDS } },
    });
  });

  afterEach(async () => {
    // A failed test must not leave a stream (and its slot) to the next one.
    for (const stream of open.splice(0)) stream.disconnect();
    await eventually(async () => expect((await app.gate.usage('llm')).used).toBe(0));
  });

  afterAll(async () => {
    for (const producer of producers.values()) producer.complete();
    await app?.close();
  });

  const used = async (model: string) => (await app.gate.usage(model)).used;

  async function stream() {
    const admitted = await admittedStream(app);
    open.push(admitted.stream);
    return admitted;
  }

  it('holds the slot while streaming, refuses a second stream with 429, and releases when the stream ends', async () => {
    const { stream: first, slot } = await stream();
    expect(slot).toMatchObject({ model: 'llm', used: 1, limit: 1, tracked: true });
    expect(first.headers.get('ratelimit-policy')).toBe('"llm";q=1;qu="concurrent-requests"');
    expect(remaining(first.headers)).toBe(0);
    expect(await used('llm')).toBe(1);

    const refused = await refusedStream(app);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit-policy')).toBe('"llm";q=1;qu="concurrent-requests"');
    expect(refused.headers.get('ratelimit')).toBe('"llm";r=0');
    expect(refused.json).toMatchObject({ statusCode: 429, model: 'llm', limit: 1 });

    const producer = producers.get(slot.taskId)!;
    producer.next({ data: { token: 'Hel' } });
    producer.next({ data: { token: 'lo' } });
    expect((await first.next())?.data).toEqual({ token: 'Hel' });
    expect((await first.next())?.data).toEqual({ token: 'lo' });
    // Still streaming: still held.
    expect(await used('llm')).toBe(1);

    producer.complete();
    expect(await first.rest()).toEqual([]);
    await eventually(async () => expect(await used('llm')).toBe(0));

    const { stream: next, slot: nextSlot } = await stream();
    expect(nextSlot.taskId).not.toBe(slot.taskId);
    producers.get(nextSlot.taskId)!.complete();
    await next.rest();
  });

  it('frees the slot when the client disconnects mid-stream', async () => {
    const { stream: first, slot } = await stream();
    producers.get(slot.taskId)!.next({ data: { token: 'partial' } });
    expect((await first.next())?.data).toEqual({ token: 'partial' });
    expect(await used('llm')).toBe(1);

    first.disconnect();
    await eventually(async () => expect(await used('llm')).toBe(0));
    expect(await app.gate.holders('llm')).toEqual([]);

    // The slot is free for the next client.
    const { stream: next, slot: nextSlot } = await stream();
    producers.get(nextSlot.taskId)!.complete();
    await next.rest();
  });

  it('frees the slot when the stream fails after its headers were sent', async () => {
    const { stream: first, slot } = await stream();
    producers.get(slot.taskId)!.error(new Error('model backend crashed'));
    const events = await first.rest();
    expect(events.map((event) => event.type)).toEqual(['error']);
    await eventually(async () => expect(await used('llm')).toBe(0));
  });

  it('keeps the slot of a stream that outlives its lease', async () => {
    const { stream: first, slot } = await stream();
    expect(slot.expiresAt).toEqual(expect.any(Number));

    // Several leases pass while the stream stays open.
    await sleep(LEASE_SECONDS * 1000 * 2);
    const holders = await app.gate.holders('llm');
    expect(holders.map((holder) => holder.taskId)).toEqual([slot.taskId]);
    expect(holders[0].expiresAt).toBeGreaterThan(slot.expiresAt!);
    expect((await refusedStream(app)).status).toBe(429);

    const producer = producers.get(slot.taskId)!;
    producer.next({ data: { token: 'late' } });
    expect((await first.next())?.data).toEqual({ token: 'late' });
    producer.complete();
    await first.rest();
    await eventually(async () => expect(await used('llm')).toBe(0));
  });

  it('releases the slot of a plain (non-streaming) route when its response ends', async () => {
    const first = await post(`${app.url}/llm/complete`);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ slot: { model: 'sync', used: 1 }, usedWhileHandling: 1 });
    expect(remaining(first.headers)).toBe(0);
    await eventually(async () => expect(await used('sync')).toBe(0));

    const second = await post(`${app.url}/llm/complete`);
    expect(second.status).toBe(201);
    expect(second.json.slot.taskId).not.toBe(first.json.slot.taskId);
    await eventually(async () => expect(await used('sync')).toBe(0));
  });
});

describe.each(PLATFORMS)("release: 'response' at shutdown (%s)", (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    // The default lease (an hour): a slot left behind would still be there after the close.
    app = await startHttpApp(platform, { controllers: [StreamController] });
  });

  afterAll(async () => {
    for (const producer of producers.values()) producer.complete();
    await app?.close();
  });

  it('gives back the slots of streams still open when the app closes', async () => {
    const { stream, slot } = await admittedStream(app);
    expect((await app.gate.holders('llm')).map((holder) => holder.taskId)).toEqual([slot.taskId]);

    await app.closeApp();
    stream.disconnect();

    const client = newRedis();
    try {
      expect(await client.zrange(`${app.keyPrefix}{llm}`, 0, -1)).toEqual([]);
    } finally {
      await closeClient(client);
    }
  });
});
