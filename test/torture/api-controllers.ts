import {
  Controller,
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
import { EXPECTED_SECONDS, STREAM_MODEL } from './config';
import { STREAM_STATE, type StreamState } from './stream-state';
import type { LedgerWriter } from './ledger';
import { pushWork } from './work-list';

/** Injection tokens of the API app's own providers. */
export const LEDGER = Symbol('ledger');
export const PUSH_CLIENT = Symbol('push-client');

/** `'event'` routes: the slot is handed to a task on the work list; a worker ends it. */
@Controller('models/:model/tasks')
export class TasksController {
  constructor(
    @Inject(LEDGER) private readonly ledger: LedgerWriter,
    @Inject(PUSH_CLIENT) private readonly work: Redis,
  ) {}

  @Post()
  @QueueLimited(
    (context) => context.switchToHttp().getRequest<{ params: { model: string } }>().params.model,
  )
  async create(@Param('model') model: string, @GateSlot() slot: GateSlotInfo) {
    const admission = this.ledger.nextAdmission();
    const held = { admission, model, taskId: slot.taskId, token: slot.token };
    this.ledger.write({
      kind: 'admit',
      ...held,
      at: Date.now(),
      leaseEnd: slot.expiresAt!,
      attempt: 0,
    });
    try {
      await pushWork(this.work, { ...held, attempt: 0, expectedSeconds: EXPECTED_SECONDS[model] });
    } catch {
      // No task was made (as far as we know): end the slot here; the error releases it.
      this.ledger.write({ kind: 'end', ...held, at: Date.now(), reason: 'push-failed' });
      throw new ServiceUnavailableException('work list unavailable');
    }
    return held;
  }
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
    const state = request[STREAM_STATE];
    // The client left between the guard and here: the slot is already on its way back.
    if (!state.open) return EMPTY;
    const admission = this.ledger.nextAdmission();
    const held = { admission, model: STREAM_MODEL, taskId: slot.taskId, token: slot.token };
    this.ledger.write({
      kind: 'admit',
      ...held,
      at: Date.now(),
      leaseEnd: slot.expiresAt!,
      attempt: 0,
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
}
