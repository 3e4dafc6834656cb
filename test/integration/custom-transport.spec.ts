import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test, type TestingModule } from '@nestjs/testing';
import { EventEmitter } from 'node:events';
import { lastValueFrom, of, throwError } from 'rxjs';
import {
  GateSlot,
  type GateHttpPair,
  type GateSlotInfo,
  QueueGateGuard,
  QueueGateInterceptor,
  QueueGateModule,
  QueueGateService,
  QueueLimited,
} from '../../src';

/** A request as a GraphQL-like transport hands it over: inside a context object. */
class FakeRequest {
  readonly res = Object.assign(new EventEmitter(), { statusCode: 200, headers: {} });
}

/**
 * The documented way to carry `@QueueLimited` to another transport: a guard subclass that says
 * where the request and its response are, how to set a header and when the response ends.
 * Nothing else is overridden: the interceptor and `@GateSlot()` find the slot by themselves.
 */
@Injectable()
class ContextArgGuard extends QueueGateGuard {
  protected override getHttpPair(context: ExecutionContext): GateHttpPair {
    const { req } = context.getArgs<[unknown, unknown, { req: FakeRequest }]>()[2];
    return { request: req, response: req.res };
  }

  protected override setHeader(response: FakeRequest['res'], name: string, value: string): void {
    response.headers = { ...response.headers, [name]: value };
  }

  protected override onResponseEnd(
    response: FakeRequest['res'],
    listener: (finished: boolean, statusCode: number) => void,
  ): void {
    response.once('end', () => listener(true, response.statusCode));
  }
}

class Resolver {
  @QueueLimited('gql-model', { limit: 1 })
  create(@GateSlot() slot: GateSlotInfo) {
    return slot;
  }
}

describe('@QueueLimited on a transport other than HTTP, through a guard subclass', () => {
  let moduleRef: TestingModule;
  let gate: QueueGateService;
  let guard: ContextArgGuard;
  let interceptor: QueueGateInterceptor;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [QueueGateModule.forRoot({ store: 'memory', isGlobal: true })],
      providers: [ContextArgGuard, QueueGateInterceptor],
    }).compile();
    gate = moduleRef.get(QueueGateService);
    guard = moduleRef.get(ContextArgGuard);
    interceptor = moduleRef.get(QueueGateInterceptor);
  });

  afterEach(async () => {
    await moduleRef.close();
  });

  /** The execution context of one call of `Resolver.create`: (root, args, { req }, info). */
  function callOf(req: FakeRequest): ExecutionContext {
    const host = new ExecutionContextHost(
      [{}, {}, { req }, {}],
      Resolver,
      Resolver.prototype.create,
    );
    host.setType('graphql');
    return host;
  }

  /** What `@GateSlot()` gives the handler for this call. */
  function gateSlotParameter(context: ExecutionContext): GateSlotInfo | undefined {
    const metadata = Reflect.getMetadata(ROUTE_ARGS_METADATA, Resolver, 'create') as Record<
      string,
      { factory: (data: unknown, context: ExecutionContext) => GateSlotInfo | undefined }
    >;
    const [param] = Object.values(metadata);
    return param.factory(undefined, context);
  }

  it('takes the slot, shows it to the handler, and keeps it for the task', async () => {
    const req = new FakeRequest();
    const call = callOf(req);
    await expect(guard.canActivate(call)).resolves.toBe(true);

    const slot = gateSlotParameter(call);
    expect(slot).toMatchObject({ model: 'gql-model', tracked: true, limit: 1 });
    expect(slot?.token).toEqual(expect.any(Number));
    expect(req.res.headers).toMatchObject({ RateLimit: '"gql-model";r=0' });

    const answer = await lastValueFrom(interceptor.intercept(call, { handle: () => of('made') }));
    expect(answer).toBe('made');
    req.res.emit('end');

    // Kept for the task the handler made; the next call is refused.
    expect(await gate.holders('gql-model')).toEqual([
      expect.objectContaining({ taskId: slot!.taskId, token: slot!.token }),
    ]);
    await expect(guard.canActivate(callOf(new FakeRequest()))).rejects.toMatchObject({
      status: 429,
    });
  });

  it('gives the slot back when the handler fails', async () => {
    const call = callOf(new FakeRequest());
    await guard.canActivate(call);
    const failing = interceptor.intercept(call, {
      handle: () => throwError(() => new Error('resolver failed')),
    });
    await expect(lastValueFrom(failing)).rejects.toThrow('resolver failed');
    expect((await gate.usage('gql-model')).used).toBe(0);
  });
});
