import {
  type CallHandler,
  Controller,
  type ExecutionContext,
  HttpException,
  Injectable,
  type NestInterceptor,
  Post,
  RequestTimeoutException,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { catchError, type Observable, throwError, timeout, TimeoutError } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import {
  eventually,
  type HttpApp,
  PLATFORMS,
  post,
  sleep,
  startHttpApp,
} from '../support/http-app';

/** How long the global interceptor lets a handler run before it answers 408. */
const TIMEOUT_MS = 150;

/** The TimeoutInterceptor of the NestJS documentation, unchanged but for its timeout. */
@Injectable()
class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(TIMEOUT_MS),
      catchError((error: unknown) =>
        throwError(() => (error instanceof TimeoutError ? new RequestTimeoutException() : error)),
      ),
    );
  }
}

/** What the handlers did, reset before each test. */
const probe = { finished: 0 };

@Controller('slow')
class SlowController {
  @Post('fails')
  @QueueLimited('slow-fails', { limit: 1 })
  async fails() {
    await sleep(TIMEOUT_MS * 3);
    probe.finished++;
    throw new HttpException('the backend refused the task', 502);
  }

  @Post('succeeds')
  @QueueLimited('slow-succeeds', { limit: 1 })
  async succeeds(@GateSlot() slot: GateSlotInfo) {
    await sleep(TIMEOUT_MS * 3);
    probe.finished++;
    return slot;
  }

  @Post('quick')
  @QueueLimited('quick', { limit: 1 })
  quick(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)(
  'a handler unsubscribed by a global timeout interceptor (%s)',
  (platform) => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startHttpApp(platform, {
        controllers: [SlowController],
        providers: [{ provide: APP_INTERCEPTOR, useClass: TimeoutInterceptor }],
      });
    });

    afterAll(async () => {
      await app?.close();
    });

    beforeEach(() => (probe.finished = 0));

    const used = async (model: string) => (await app.gate.usage(model)).used;

    it('releases the slot when the request times out (408) and the handler fails later', async () => {
      const reply = await post(`${app.url}/slow/fails`);
      expect(reply.status).toBe(408);
      await eventually(async () => expect(await used('slow-fails')).toBe(0));
      // The handler's late failure changes nothing, and the gate admits the next request.
      await eventually(() => expect(probe.finished).toBe(1));
      expect(await used('slow-fails')).toBe(0);
      expect((await post(`${app.url}/slow/fails`)).status).toBe(408);
    });

    it('releases the slot when the request times out (408) and the handler succeeds later', async () => {
      const reply = await post(`${app.url}/slow/succeeds`);
      expect(reply.status).toBe(408);
      await eventually(async () => expect(await used('slow-succeeds')).toBe(0));
      await eventually(() => expect(probe.finished).toBe(1));
      expect(await used('slow-succeeds')).toBe(0);
    });

    it('keeps the slot of a handler that completes within the timeout', async () => {
      const reply = await post(`${app.url}/slow/quick`);
      expect(reply.status).toBe(201);
      await sleep(TIMEOUT_MS * 2);
      expect(await used('quick')).toBe(1);
      await app.gate.release('quick', reply.json.taskId);
    });
  },
);
