import {
  Controller,
  type ExecutionContext,
  Headers,
  Inject,
  type MessageEvent,
  Param,
  Post,
  Query,
  Req,
  Sse,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { EMPTY, Observable } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../src';
import { EXPECTED_SECONDS, STREAM_MODEL, STREAM_WAIT_SECONDS, TASK_WAIT_SECONDS } from './config';
import { STREAM_STATE, type StreamState } from './stream-state';
import type { LedgerWriter } from './ledger';
import { pushWork } from './work-list';

/** Injection tokens of the API app's own providers. */
export const LEDGER = Symbol('ledger');
export const PUSH_CLIENT = Symbol('push-client');

/** The model of a task route: its `:model` parameter. */
const modelParam = (context: ExecutionContext) =>
  context.switchToHttp().getRequest<{ params: { model: string } }>().params.model;

/** The tenant of a waiting task request: its `x-tenant` header, if any. */
const tenantHeader = (context: ExecutionContext) => {
  const value = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
    'x-tenant'
  ];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** What the ledger says of an admission beyond its slot: the tenant, the waiting route. */
interface AdmitExtra {
  tenant?: string;
  route?: 'waiting';
}

/** `'event'` routes: the slot is handed to a task on the work list; a worker ends it. */
@Controller('models/:model/tasks')
export class TasksController {
  constructor(
    @Inject(LEDGER) private readonly ledger: LedgerWriter,
    @Inject(PUSH_CLIENT) private readonly work: Redis,
  ) {}

  @Post()
  @QueueLimited(modelParam)
  create(@Param('model') model: string, @GateSlot() slot: GateSlotInfo) {
    return admitTask(this.ledger, this.work, model, slot, {});
  }
}

/**
 * The same `'event'` route, waiting up to TASK_WAIT_SECONDS for its slot (in arrival order
 * across both API apps), and counted against its tenant's share (`x-tenant`) on the models that
 * have one.
 */
@Controller('models/:model/waiting-tasks')
export class WaitingTasksController {
  constructor(
    @Inject(LEDGER) private readonly ledger: LedgerWriter,
    @Inject(PUSH_CLIENT) private readonly work: Redis,
  ) {}

  @Post()
  @QueueLimited(modelParam, { waitSeconds: TASK_WAIT_SECONDS, tenant: tenantHeader })
  create(
    @Param('model') model: string,
    @GateSlot() slot: GateSlotInfo,
    @Headers('x-tenant') tenant: string | undefined,
  ) {
    return admitTask(this.ledger, this.work, model, slot, {
      tenant: tenant || undefined,
      route: 'waiting',
    });
  }
}

/**
 * Writes the admission, then pushes the task onto the work list. When the push fails no task
 * was made (as far as we know): its end is written and the error gives the slot back.
 */
async function admitTask(
  ledger: LedgerWriter,
  work: Redis,
  model: string,
  slot: GateSlotInfo,
  extra: AdmitExtra,
) {
  const admission = ledger.nextAdmission();
  const held = { admission, model, taskId: slot.taskId, token: slot.token };
  ledger.write({
    kind: 'admit',
    ...held,
    at: Date.now(),
    leaseEnd: slot.expiresAt!,
    attempt: 0,
    ...extra,
  });
  try {
    await pushWork(work, { ...held, attempt: 0, expectedSeconds: EXPECTED_SECONDS[model] });
  } catch {
    ledger.write({ kind: 'end', ...held, at: Date.now(), reason: 'push-failed' });
    throw new ServiceUnavailableException('work list unavailable');
  }
  return held;
}

/**
 * The `@Sse()` route: its slot is the stream's and goes back when the response ends. Its end is
 * written by the request's {@link StreamState}, before the release is sent.
 */
@Controller('stream')
export class StreamController {
  constructor(@Inject(LEDGER) private readonly ledger: LedgerWriter) {}

  @Sse()
  // No release option: an @Sse() route defaults to 'response' (the slot is the stream's).
  @QueueLimited(STREAM_MODEL)
  stream(
    @GateSlot() slot: GateSlotInfo,
    @Query('ms') ms: string,
    @Req() request: { [STREAM_STATE]: StreamState },
  ): Observable<MessageEvent> {
    return openStream(this.ledger, slot, ms, request[STREAM_STATE], {});
  }
}

/** The same stream, waiting up to STREAM_WAIT_SECONDS for its slot; a client that leaves leaves the queue. */
@Controller('waiting-stream')
export class WaitingStreamController {
  constructor(@Inject(LEDGER) private readonly ledger: LedgerWriter) {}

  @Sse()
  @QueueLimited(STREAM_MODEL, { waitSeconds: STREAM_WAIT_SECONDS })
  stream(
    @GateSlot() slot: GateSlotInfo,
    @Query('ms') ms: string,
    @Req() request: { [STREAM_STATE]: StreamState },
  ): Observable<MessageEvent> {
    return openStream(this.ledger, slot, ms, request[STREAM_STATE], { route: 'waiting' });
  }
}

/** A stream of ticks for `ms`, its admission written first (unless the client already left). */
function openStream(
  ledger: LedgerWriter,
  slot: GateSlotInfo,
  ms: string,
  state: StreamState,
  extra: AdmitExtra,
): Observable<MessageEvent> {
  // The client left between the guard and here: the slot is already on its way back.
  if (!state.open) return EMPTY;
  const admission = ledger.nextAdmission();
  const held = { admission, model: STREAM_MODEL, taskId: slot.taskId, token: slot.token };
  ledger.write({
    kind: 'admit',
    ...held,
    at: Date.now(),
    leaseEnd: slot.expiresAt!,
    attempt: 0,
    ...extra,
  });
  state.hold(held);
  const lastsMs = Math.min(Number(ms) || 0, 30_000);
  return new Observable<MessageEvent>((subscriber) => {
    subscriber.next({ type: 'slot', data: held });
    const ticks = setInterval(() => subscriber.next({ data: { at: Date.now() } }), 250);
    const done = setTimeout(() => {
      state.end('stream-done'); // before the response can end and release
      subscriber.complete();
    }, lastsMs);
    return () => {
      clearInterval(ticks);
      clearTimeout(done);
    };
  });
}
