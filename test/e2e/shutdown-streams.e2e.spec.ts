import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import { interval, map, type Observable } from 'rxjs';
import { QueueLimited } from '../../src';
import {
  type EventStream,
  eventually,
  type HttpApp,
  isEventStream,
  openEventStream,
  PLATFORMS,
  sleep,
  startHttpApp,
} from '../support/http-app';
import { closeClient, newRedis } from '../support/test-redis';

/** A stream that speaks every 20 ms and never ends by itself. */
@Controller('ticks')
class TickController {
  @Sse()
  @QueueLimited('ticks', { limit: 1, release: 'response' })
  ticks(): Observable<MessageEvent> {
    return interval(20).pipe(map((tick) => ({ data: { tick } })));
  }
}

/** Reads a stream until it ends or breaks; 'still flowing' when it does neither in time. */
async function outcomeWithin(stream: EventStream, ms: number): Promise<string> {
  const over = stream.rest().then(
    () => 'ended',
    () => 'broken',
  );
  return Promise.race([over, sleep(ms).then(() => 'still flowing')]);
}

async function members(key: string): Promise<string[]> {
  const client = newRedis();
  try {
    return await client.zrange(key, 0, -1);
  } finally {
    await closeClient(client);
  }
}

describe.each(PLATFORMS)("release: 'response' streams at shutdown (%s)", (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    // Connections are not force-closed: only the gate's shutdown can end the stream.
    app = await startHttpApp(platform, {
      controllers: [TickController],
      forceCloseConnections: false,
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('ends a stream still open at shutdown before it frees its slot', async () => {
    const stream = await openEventStream(`${app.url}/ticks`);
    if (!isEventStream(stream)) throw new Error(`refused: ${stream.status} ${stream.text}`);
    expect((await stream.next())?.data).toEqual({ tick: 0 });
    const key = `${app.keyPrefix}{ticks}`;
    expect(await members(key)).toHaveLength(1);

    const closing = app.closeApp();
    try {
      await eventually(async () => expect(await members(key)).toEqual([]));
      // Once the slot is free another instance may admit a stream in its place, so this one
      // must already be over: what is left to read ends at once, nothing more flows.
      expect(await outcomeWithin(stream, 1_000)).not.toBe('still flowing');
    } finally {
      stream.disconnect();
      await closing;
    }
  });
});
