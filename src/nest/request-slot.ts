import type { KeepAliveHandle } from '../core/lease-keep-alive';
import type { GateSlotInfo } from './gate-slot';
import type { SlotRelease } from './queue-gate.options';

/** Where a request's slot goes back to; the service satisfies it. */
export interface SlotReleaser {
  release(model: string, taskId: string): Promise<boolean>;
}

/** Key under which the guard attaches a {@link RequestSlot} to the request object. */
export const REQUEST_SLOT = Symbol('queue-gate:request-slot');

/**
 * The life of one request's slot, from the guard's acquire to its release or hand-over to the
 * task. The release rule:
 * - a failure anywhere after the acquire (later guard, pipe, handler, interceptor, filter,
 *   client gone) releases at once;
 * - `'response'` releases when the response ends, whatever happened;
 * - `'event'` keeps the slot only when the handler succeeded and a success response was
 *   delivered; the task's lifecycle then releases it.
 */
export class RequestSlot {
  private succeeded = false;
  private released: Promise<void> | undefined;

  constructor(
    readonly slot: GateSlotInfo,
    readonly mode: SlotRelease,
    private readonly releaser: SlotReleaser,
    private readonly keeper?: KeepAliveHandle,
    private readonly onSettled?: () => void,
  ) {}

  /** The handler's result was produced without error. */
  handlerSucceeded(): void {
    this.succeeded = true;
  }

  /** The response ended: `finished` when fully delivered, with its status code. */
  responseEnded(finished: boolean, statusCode: number): void {
    const handedToTask = this.mode === 'event' && this.succeeded && finished && statusCode < 400;
    if (handedToTask) {
      this.keeper?.stop();
      this.onSettled?.();
      return;
    }
    void this.release();
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
}
