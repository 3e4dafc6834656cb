import type { KeepAliveHandle } from '../core/lease-keep-alive';
import type { GateSlotInfo } from './gate-slot';
import type { SlotRelease } from './queue-gate.options';

/** Where a request's slot goes back to; the service satisfies it. */
export interface SlotReleaser {
  release(model: string, taskId: string): Promise<boolean>;
}

/** Key under which the guard attaches a {@link RequestSlot} to the request object. */
export const REQUEST_SLOT = Symbol('queue-gate:request-slot');

type Stage = 'admitted' | 'handling' | 'succeeded' | 'failed';

/**
 * The life of one request's slot, from the guard's acquire to its release or hand-over to the
 * task. The rules:
 * - anything that fails after the acquire (later guard, pipe, handler, interceptor, an error
 *   status) releases it at once;
 * - a client that leaves before the handler runs releases it, and the handler is not run;
 * - `'response'` releases when the response ends, whatever happened;
 * - `'event'` keeps the slot once the handler succeeded, even if the client left meanwhile:
 *   the handler created the task, so the slot belongs to the task until its lifecycle ends.
 */
export class RequestSlot {
  private stage: Stage = 'admitted';
  private clientGone = false;
  private released: Promise<void> | undefined;

  constructor(
    readonly slot: GateSlotInfo,
    readonly mode: SlotRelease,
    private readonly releaser: SlotReleaser,
    private readonly keeper?: KeepAliveHandle,
    private readonly onSettled?: () => void,
  ) {}

  /** The handler is about to run; false when the client already left and it must not. */
  handlerStarting(): boolean {
    if (this.clientGone) return false;
    this.stage = 'handling';
    return true;
  }

  /** The handler's result was produced without error. */
  handlerSucceeded(): void {
    if (this.stage === 'handling') this.stage = 'succeeded';
  }

  /** The handler, a pipe or a later interceptor failed: the slot goes back now. */
  handlerFailed(): Promise<void> {
    this.stage = 'failed';
    return this.release();
  }

  /** The response ended: `finished` when fully delivered, with its status code. */
  responseEnded(finished: boolean, statusCode: number): void {
    if (!finished) this.clientGone = true;
    if (this.mode === 'response') {
      void this.release();
      return;
    }
    switch (this.stage) {
      case 'succeeded':
        if (statusCode >= 400) void this.release();
        else this.handOverToTask();
        return;
      case 'handling':
        // The handler's outcome decides: success keeps the slot for the task it created.
        return;
      default:
        // The handler never ran (a later guard said no, or the client left first) or failed.
        void this.release();
    }
  }

  /** Gives the slot back; idempotent. A release that cannot reach Redis is queued by the gate. */
  release(): Promise<void> {
    this.released ??= this.releaser
      .release(this.slot.model, this.slot.taskId)
      .then(
        () => undefined,
        // The gate already logged and queued it; the request's own outcome must not change.
        () => undefined,
      )
      .finally(() => {
        this.keeper?.stop();
        this.onSettled?.();
      });
    return this.released;
  }

  private handOverToTask(): void {
    this.keeper?.stop();
    this.onSettled?.();
  }
}
