import { Controller, Post } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import {
  eventually,
  type HttpApp,
  PLATFORMS,
  post,
  sleep,
  startHttpApp,
} from '../support/http-app';

/** How long the request-timeout middleware waits before it answers 503 itself. */
const REQUEST_TIMEOUT_MS = 100;

/** What the gate's limit resolver and the handlers saw, reset before each test. */
const probe = { handlerRuns: 0, limitsAnswered: 0 };

/**
 * A gate whose limit takes longer to read than the request may live, as when Redis or the
 * limits' database is slow: the acquire succeeds after the middleware already answered.
 */
async function slowLimit(): Promise<number> {
  await sleep(REQUEST_TIMEOUT_MS * 3);
  probe.limitsAnswered++;
  return 2;
}

/** A request-timeout middleware (as `connect-timeout` does): answers 503 when time is up. */
function requestTimeout(_request: IncomingMessage, response: ServerResponse, next: () => void) {
  const timer = setTimeout(() => {
    if (response.headersSent) return;
    response.statusCode = 503;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ statusCode: 503, message: 'request timed out' }));
  }, REQUEST_TIMEOUT_MS);
  response.once('close', () => clearTimeout(timer));
  next();
}

@Controller()
class TasksController {
  @Post('event')
  @QueueLimited('answered-event')
  event(@GateSlot() slot: GateSlotInfo) {
    probe.handlerRuns++;
    return slot;
  }

  @Post('response')
  @QueueLimited('answered-response', { release: 'response' })
  response(@GateSlot() slot: GateSlotInfo) {
    probe.handlerRuns++;
    return slot;
  }
}

describe.each(PLATFORMS)('a request answered before the gate admitted it (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [TasksController],
      gate: { limits: slowLimit },
      configure: (nest) => nest.use(requestTimeout),
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    probe.handlerRuns = 0;
    probe.limitsAnswered = 0;
  });

  const used = async (model: string) => (await app.gate.usage(model)).used;

  it.each(['event', 'response'])(
    "releases the slot at once and skips the handler (release: '%s')",
    async (mode) => {
      const reply = await post(`${app.url}/${mode}`);
      expect(reply.status).toBe(503);
      expect(reply.json).toEqual({ statusCode: 503, message: 'request timed out' });

      // The gate admitted the request after its answer was sent: that slot must go back.
      await eventually(() => expect(probe.limitsAnswered).toBe(1));
      await eventually(async () => expect(await used(`answered-${mode}`)).toBe(0));
      await sleep(100);
      expect(await used(`answered-${mode}`)).toBe(0);
      expect(probe.handlerRuns).toBe(0);
      // Nothing failed on the way: the header write after the answer did not turn into a 500.
      expect(app.logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    },
  );
});
