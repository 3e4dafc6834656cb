import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import { concat, NEVER, type Observable, of } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import {
  eventually,
  type HttpApp,
  isEventStream,
  openEventStream,
  PLATFORMS,
  startHttpApp,
} from '../support/http-app';

/** An `@Sse()` route with no `release` option: its slot is its stream. */
@Controller('sse')
class StreamController {
  @Sse('method')
  @QueueLimited('sse-method', { limit: 1 })
  method(@GateSlot() slot: GateSlotInfo): Observable<MessageEvent> {
    return concat(of({ type: 'slot', data: slot }), NEVER);
  }
}

/** The same on a controller-level `@QueueLimited`. */
@Controller('sse-class')
@QueueLimited('sse-class', { limit: 1 })
class LimitedStreamController {
  @Sse()
  stream(@GateSlot() slot: GateSlotInfo): Observable<MessageEvent> {
    return concat(of({ type: 'slot', data: slot }), NEVER);
  }
}

describe.each(PLATFORMS)('@QueueLimited on an @Sse() route by default (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [StreamController, LimitedStreamController],
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  const used = async (model: string) => (await app.gate.usage(model)).used;

  it.each([
    ['sse/method', 'sse-method'],
    ['sse-class', 'sse-class'],
  ])('holds the slot while %s streams and frees it when the client leaves', async (path, model) => {
    const stream = await openEventStream(`${app.url}/${path}`);
    if (!isEventStream(stream)) throw new Error(`refused: ${stream.status} ${stream.text}`);
    expect((await stream.next())?.type).toBe('slot');
    expect(await used(model)).toBe(1);

    // The gate is full while the stream lasts.
    const second = await openEventStream(`${app.url}/${path}`);
    expect(isEventStream(second)).toBe(false);
    expect(second.status).toBe(429);

    stream.disconnect();
    await eventually(async () => expect(await used(model)).toBe(0));
  });
});
