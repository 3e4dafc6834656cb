import {
  type ArgumentsHost,
  Body,
  type CallHandler,
  Catch,
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  type NestInterceptor,
  Post,
  Res,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { IsInt, IsString, Min } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { map } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueGateService, QueueLimited } from '../../src';
import {
  eventually,
  type HttpApp,
  PLATFORMS,
  post,
  request,
  sleep,
  startHttpApp,
} from '../support/http-app';

/** What the routes and guards saw, reset before each test. */
const probe = {
  laterGuardSawUsed: [] as number[],
  /** Usage of the failed route's gate when the exception filter began to answer. */
  usageAtFilter: [] as number[],
  handlerRuns: 0,
  taskIdsMade: 0,
  /** Resolved by the slow handler once it runs; it then waits for `finishSlow`. */
  slowStarted: undefined as undefined | (() => void),
  finishSlow: undefined as undefined | (() => void),
  /** Set while a model resolver waits: call it to let the resolver answer. */
  resolveModel: undefined as undefined | (() => void),
  resolving: undefined as undefined | (() => void),
};

function resetProbe(): void {
  probe.laterGuardSawUsed = [];
  probe.usageAtFilter = [];
  probe.handlerRuns = 0;
  probe.taskIdsMade = 0;
  probe.slowStarted = undefined;
  probe.finishSlow = undefined;
  probe.resolveModel = undefined;
  probe.resolving = undefined;
}

/** A model resolver that answers `model` only when the test says so. */
function heldModel(model: string) {
  return async () => {
    await new Promise<void>((resolve) => {
      probe.resolveModel = resolve;
      probe.resolving?.();
    });
    return model;
  };
}

/** Lets a slow handler run only when the test calls `probe.finishSlow`. */
function waitForTheTest(): Promise<void> {
  return new Promise<void>((resolve) => {
    probe.finishSlow = resolve;
    probe.slowStarted?.();
  });
}

const countedTaskId = () => {
  probe.taskIdsMade++;
  return randomUUID();
};

const denied = (context: ExecutionContext, who: string) =>
  context.switchToHttp().getRequest().headers['x-deny'] === who;

/** An application guard that runs after the gate's and rejects; it notes the usage it saw. */
@Injectable()
class LaterGuard implements CanActivate {
  constructor(private readonly gate: QueueGateService) {}

  async canActivate(): Promise<boolean> {
    probe.laterGuardSawUsed.push((await this.gate.usage('later-guard')).used);
    throw new UnauthorizedException({ statusCode: 401, message: 'token expired', realm: 'api' });
  }
}

@Injectable()
class EarlierGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return !denied(context, 'route');
  }
}

@Injectable()
class ControllerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (denied(context, 'controller')) throw new ForbiddenException('controller says no');
    return true;
  }
}

class GlobalGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (denied(context, 'global')) throw new UnauthorizedException('who are you?');
    return true;
  }
}

/** A later interceptor that breaks the handler's result. */
@Injectable()
class BreakingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    return next.handle().pipe(
      map(() => {
        throw new HttpException({ stage: 'serializer', ok: false }, 502);
      }),
    );
  }
}

/**
 * Nest's own error answer, after noting how many slots the route's gate held at that moment:
 * the release must come before the error is turned into a response, not when it ends.
 */
@Catch()
class UsageAtFilter extends BaseExceptionFilter {
  @Inject(QueueGateService) private readonly gate!: QueueGateService;

  override catch(exception: unknown, host: ArgumentsHost): void {
    const { url } = host.switchToHttp().getRequest<{ url: string }>();
    const model = url.split('?')[0].split('/').pop()!;
    void this.gate
      .usage(model)
      .then(({ used }) => probe.usageAtFilter.push(used))
      .finally(() => super.catch(exception, host));
  }
}

class CreateTaskDto {
  @IsString()
  prompt!: string;

  @IsInt()
  @Min(1)
  steps!: number;
}

@Controller('back')
@UseFilters(UsageAtFilter)
class GiveBackController {
  @Post('throws')
  @QueueLimited('throws', { limit: 2 })
  throws(@Body() body: { plain?: boolean }) {
    probe.handlerRuns++;
    if (body?.plain) throw new Error('database is on fire');
    throw new HttpException({ code: 'E_TEAPOT', detail: 'kettle' }, 418);
  }

  @Post('validated')
  @QueueLimited('validated', { limit: 2 })
  @UsePipes(new ValidationPipe())
  validated(@Body() body: CreateTaskDto, @GateSlot() slot: GateSlotInfo) {
    probe.handlerRuns++;
    return { steps: body.steps, slot };
  }

  // Decorators apply bottom-up, so the guard written above @QueueLimited runs after it.
  @Post('later-guard')
  @UseGuards(LaterGuard)
  @QueueLimited('later-guard', { limit: 2 })
  laterGuard() {
    probe.handlerRuns++;
    return {};
  }

  @Post('earlier-guard')
  @QueueLimited('earlier-guard', { limit: 2, taskId: countedTaskId })
  @UseGuards(EarlierGuard)
  earlierGuard(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }

  @Post('interceptor')
  @UseInterceptors(BreakingInterceptor)
  @QueueLimited('interceptor', { limit: 2 })
  interceptor() {
    probe.handlerRuns++;
    return { produced: true };
  }

  @Post('error-status')
  @QueueLimited('error-status', { limit: 2 })
  errorStatus(@Res({ passthrough: true }) response: { status(code: number): unknown }) {
    response.status(409);
    return { conflict: true };
  }

  @Post('large')
  @QueueLimited('large', { limit: 2 })
  large() {
    // Far more than the socket buffers hold, so the response cannot be delivered unread.
    return { blob: 'x'.repeat(32 * 1024 * 1024) };
  }

  @Post('early-leave/event')
  @QueueLimited(heldModel('early-leave-event'), { limit: 2, taskId: countedTaskId })
  earlyLeaveEvent(@GateSlot() slot: GateSlotInfo) {
    probe.handlerRuns++;
    return slot;
  }

  @Post('early-leave/response')
  @QueueLimited(heldModel('early-leave-response'), {
    limit: 2,
    release: 'response',
    taskId: countedTaskId,
  })
  earlyLeaveResponse(@GateSlot() slot: GateSlotInfo) {
    probe.handlerRuns++;
    return slot;
  }

  @Post('slow')
  @QueueLimited('slow', { limit: 2 })
  async slow(@GateSlot() slot: GateSlotInfo) {
    await waitForTheTest();
    return slot;
  }

  @Post('slow-fails')
  @QueueLimited('slow-fails', { limit: 2 })
  async slowFails() {
    await waitForTheTest();
    throw new HttpException('the backend refused the task', 502);
  }
}

@Controller('guarded')
@UseGuards(ControllerGuard)
class GuardedController {
  @Post()
  @QueueLimited('guarded', { limit: 2, taskId: countedTaskId })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe.each(PLATFORMS)('@QueueLimited gives the slot back on failure (%s)', (platform) => {
  let app: HttpApp;

  beforeAll(async () => {
    app = await startHttpApp(platform, {
      controllers: [GiveBackController, GuardedController],
      providers: [LaterGuard, EarlierGuard, ControllerGuard, BreakingInterceptor],
      configure: (nest) => nest.useGlobalGuards(new GlobalGuard()),
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(resetProbe);

  const used = async (model: string) => (await app.gate.usage(model)).used;

  describe('after the slot was taken, releases it before the error response', () => {
    it('when the handler throws an HttpException, which reaches the client unchanged', async () => {
      const reply = await post(`${app.url}/back/throws`, {});
      expect(reply.status).toBe(418);
      expect(reply.json).toEqual({ code: 'E_TEAPOT', detail: 'kettle' });
      expect(probe.handlerRuns).toBe(1);
      expect(probe.usageAtFilter).toEqual([0]);
      expect(await used('throws')).toBe(0);
    });

    it('when the handler throws a plain Error (500)', async () => {
      const reply = await post(`${app.url}/back/throws`, { plain: true });
      expect(reply.status).toBe(500);
      expect(reply.json).toEqual({ statusCode: 500, message: 'Internal server error' });
      expect(probe.usageAtFilter).toEqual([0]);
      expect(await used('throws')).toBe(0);
    });

    it('when a validation pipe rejects the body', async () => {
      const reply = await post(`${app.url}/back/validated`, { prompt: 42, steps: 0 });
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(reply.json.message).toEqual(
        expect.arrayContaining(['prompt must be a string', 'steps must not be less than 1']),
      );
      expect(probe.handlerRuns).toBe(0);
      expect(probe.usageAtFilter).toEqual([0]);
      expect(await used('validated')).toBe(0);

      // The same route with a valid body is admitted and keeps its slot ('event').
      const ok = await post(`${app.url}/back/validated`, { prompt: 'a cat', steps: 20 });
      expect(ok.status).toBe(201);
      expect(ok.json).toMatchObject({ steps: 20, slot: { model: 'validated', used: 1 } });
      expect(await used('validated')).toBe(1);
      await app.gate.release('validated', ok.json.slot.taskId);
    });

    it('when a later interceptor fails on the handler result', async () => {
      const reply = await post(`${app.url}/back/interceptor`);
      expect(reply.status).toBe(502);
      expect(reply.json).toEqual({ stage: 'serializer', ok: false });
      expect(probe.handlerRuns).toBe(1);
      expect(probe.usageAtFilter).toEqual([0]);
      expect(await used('interceptor')).toBe(0);
    });
  });

  it('releases the slot when a guard that runs after the gate rejects', async () => {
    const replies = [await post(`${app.url}/back/later-guard`)];
    replies.push(await post(`${app.url}/back/later-guard`));
    replies.push(await post(`${app.url}/back/later-guard`));
    for (const reply of replies) {
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual({ statusCode: 401, message: 'token expired', realm: 'api' });
    }
    expect(probe.handlerRuns).toBe(0);
    // The guard ran while the request held its slot. With limit 2, a slot that leaked would
    // have made the third request answer 429 instead of reaching the guard.
    expect(probe.laterGuardSawUsed[0]).toBe(1);
    expect(probe.laterGuardSawUsed).toHaveLength(3);
    // No interceptor ran, so the slot goes back when the response ends.
    await eventually(async () => expect(await used('later-guard')).toBe(0));
  });

  describe('never takes a slot when an earlier guard rejects', () => {
    it('a global guard', async () => {
      const reply = await post(`${app.url}/guarded`, undefined, { 'x-deny': 'global' });
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual({
        statusCode: 401,
        message: 'who are you?',
        error: 'Unauthorized',
      });
      expect(reply.headers.get('ratelimit')).toBeNull();
      expect(probe.taskIdsMade).toBe(0);
      expect(await used('guarded')).toBe(0);
    });

    it('a controller-level guard', async () => {
      const reply = await post(`${app.url}/guarded`, undefined, { 'x-deny': 'controller' });
      expect(reply.status).toBe(403);
      expect(reply.json).toEqual({
        statusCode: 403,
        message: 'controller says no',
        error: 'Forbidden',
      });
      expect(reply.headers.get('ratelimit')).toBeNull();
      expect(probe.taskIdsMade).toBe(0);
      expect(await used('guarded')).toBe(0);

      // Let through, the same request takes a slot: the route is really gated.
      const ok = await post(`${app.url}/guarded`);
      expect(ok.status).toBe(201);
      expect(ok.json).toMatchObject({ model: 'guarded', used: 1 });
      expect(probe.taskIdsMade).toBe(1);
      await app.gate.release('guarded', ok.json.taskId);
    });

    it('a route guard declared below @QueueLimited', async () => {
      const reply = await post(`${app.url}/back/earlier-guard`, undefined, { 'x-deny': 'route' });
      expect(reply.status).toBe(403);
      expect(reply.json).toEqual({
        statusCode: 403,
        message: 'Forbidden resource',
        error: 'Forbidden',
      });
      expect(probe.taskIdsMade).toBe(0);
      expect(await used('earlier-guard')).toBe(0);

      const ok = await post(`${app.url}/back/earlier-guard`);
      expect(ok.status).toBe(201);
      expect(probe.taskIdsMade).toBe(1);
      await app.gate.release('earlier-guard', ok.json.taskId);
    });
  });

  it('releases the slot when the handler answers an error status without throwing', async () => {
    const reply = await post(`${app.url}/back/error-status`);
    expect(reply.status).toBe(409);
    expect(reply.json).toEqual({ conflict: true });
    await eventually(async () => expect(await used('error-status')).toBe(0));
  });

  it('keeps the slot of the task the handler made when the client leaves before the body arrives', async () => {
    // node:http, unlike fetch, stops reading a paused response, so the body stays undelivered.
    const client = httpRequest(`${app.url}/back/large`, { method: 'POST' });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      client.once('response', resolve).once('error', reject).end();
    });
    response.pause();
    // The handler succeeded and the head arrived; the body is still being written.
    expect(response.statusCode).toBe(201);
    expect(await used('large')).toBe(1);
    client.destroy();
    // The task exists whether or not its creator heard of it: its slot stays until it ends.
    await sleep(200);
    expect(await used('large')).toBe(1);
    const [holder] = await app.gate.holders('large');
    await app.gate.release('large', holder.taskId);
  });

  it('keeps the slot when the client leaves while the handler runs and the handler succeeds', async () => {
    const started = new Promise<void>((resolve) => (probe.slowStarted = resolve));
    const abort = new AbortController();
    const pending = request('POST', `${app.url}/back/slow`, { signal: abort.signal });
    await started;
    expect(await used('slow')).toBe(1);

    abort.abort();
    await expect(pending).rejects.toThrow();
    await sleep(100);
    expect(await used('slow')).toBe(1);

    // The handler made its task after all: the slot is the task's now.
    probe.finishSlow!();
    await sleep(100);
    expect(await used('slow')).toBe(1);
    const [holder] = await app.gate.holders('slow');
    await app.gate.release('slow', holder.taskId);
  });

  it('releases the slot when the client leaves while the handler runs and the handler fails', async () => {
    const started = new Promise<void>((resolve) => (probe.slowStarted = resolve));
    const abort = new AbortController();
    const pending = request('POST', `${app.url}/back/slow-fails`, { signal: abort.signal });
    await started;
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect(await used('slow-fails')).toBe(1);

    probe.finishSlow!();
    await eventually(async () => expect(await used('slow-fails')).toBe(0));
  });

  it.each(['event', 'response'])(
    "releases the slot and skips the handler when the client left while the gate was being taken (release: '%s')",
    async (mode) => {
      const resolving = new Promise<void>((resolve) => (probe.resolving = resolve));
      const abort = new AbortController();
      const pending = request('POST', `${app.url}/back/early-leave/${mode}`, {
        signal: abort.signal,
      });
      await resolving;
      abort.abort();
      await expect(pending).rejects.toThrow();
      // Let the server see the connection close before the guard goes on.
      await sleep(100);
      probe.resolveModel!();
      await eventually(() => expect(probe.taskIdsMade).toBe(1));

      // The guard is taking the slot now; it must give it straight back, not hold it until the
      // lease ends ('event') or forever through the keep-alive ('response'), and no task may be
      // made for a request nobody waits for.
      await sleep(100);
      await eventually(async () => expect(await used(`early-leave-${mode}`)).toBe(0));
      expect(probe.handlerRuns).toBe(0);
    },
  );
});
