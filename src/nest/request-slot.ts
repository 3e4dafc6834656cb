import type { KeepAliveHandle } from '../core/lease-keep-alive';
import type { GateSlotInfo } from './gate-slot';
import type { SlotRelease } from './queue-gate.options';
import {
  type HandlerOutcome,
  RESPONSE_OPEN,
  type ResponseState,
  type SlotFate,
  slotFate,
} from './slot-fate';

/** Where a request's slot goes back to; the service satisfies it. */
export interface SlotReleaser {
  /** Gives the slot back (fenced by `token` when given); true when it was held. */
  release(model: string, taskId: string, options?: { token?: number }): Promise<boolean>;
}

/** What a {@link RequestSlot} may do besides releasing, all optional. */
export interface RequestSlotHooks {
  /** Keeps a `'response'` slot's lease alive while the response lasts; stopped when settled. */
  keeper?: KeepAliveHandle;
  /** Called once when the slot was released or handed over to its task. */
  onSettled?: () => void;
  /** Ends the request's response (destroys it), for a shutdown that cannot wait for it. */
  endResponse?: () => void;
}

/** Key under which the guard attaches a {@link RequestSlot} to the request object. */
export const REQUEST_SLOT = Symbol('queue-gate:request-slot');

/**
 * The life of one request's slot, from the guard's acquire to its release or hand-over to the
 * task: two inputs (what the handler did, what the response did), fed in any order, and the
 * table of `slotFate` deciding after each one. Once released or handed over it is settled
 * and later inputs change nothing.
 */
export class RequestSlot {
  private handler: HandlerOutcome = 'not-started';
  private response: ResponseState = RESPONSE_OPEN;
  private released: Promise<void> | undefined;
  private handedOver = false;
  private markSettled!: () => void;
  private readonly settled = new Promise<void>((resolve) => (this.markSettled = resolve));

  /** @internal Made by the guard when it admits a request. */
  constructor(
    /** The slot as `@GateSlot()` shows it to the handler. */
    readonly slot: GateSlotInfo,
    /** When the slot goes back after a successful response: `'event'` or `'response'`. */
    readonly mode: SlotRelease,
    private readonly releaser: SlotReleaser,
    private readonly hooks: RequestSlotHooks = {},
  ) {}

  /** @internal What is known of the handler, for logs and tests. */
  get handlerOutcome(): HandlerOutcome {
    return this.handler;
  }

  /** @internal What is known of the response, for logs and tests. */
  get responseState(): ResponseState {
    return this.response;
  }

  /**
   * The handler is about to run; false when it must not: the response already ended (the
   * client left, or something else answered) or the request already failed.
   */
  handlerStarting(): boolean {
    if (this.response.ended || this.handler === 'failed') return false;
    // A second call (the guard of a 'response' route and an interceptor) changes nothing.
    if (this.handler === 'not-started') this.handler = 'pending';
    return true;
  }

  /** The handler's observable completed. */
  handlerSucceeded(): void {
    this.handlerSettled('succeeded');
  }

  /** The handler's observable was unsubscribed before it completed or failed. */
  handlerAbandoned(): void {
    this.handlerSettled('abandoned');
  }

  /**
   * The handler, a pipe or a later interceptor failed. Resolves once the slot is back when the
   * rules give it back now, at once otherwise (a `'response'` slot waits for its response).
   */
  handlerFailed(): Promise<void> {
    if (this.handler === 'failed' || this.isSettled()) return this.released ?? Promise.resolve();
    this.handler = 'failed';
    return this.decide();
  }

  /** The response ended: `finished` when fully delivered, with its status code. */
  responseEnded(finished: boolean, statusCode: number): void {
    if (this.response.ended) return;
    this.response = { ended: true, finished, statusCode };
    void this.decide();
  }

  /**
   * Ends the response (for shutdown) and resolves once the slot has settled, which for a
   * `'response'` slot is after its response has ended and its release was made.
   */
  endResponse(): Promise<void> {
    if (!this.response.ended && this.hooks.endResponse) this.hooks.endResponse();
    // Without a way to end the response there is nothing left to wait for.
    else if (!this.response.ended) void this.release();
    return this.settled;
  }

  /**
   * Gives the slot back now, whatever the rules say; idempotent, and a no-op once the slot
   * was handed over to its task. Fenced by the slot's token: it never frees a later admission
   * of the same holder id. A release that cannot reach Redis is queued by the gate.
   */
  release(): Promise<void> {
    if (this.handedOver) return Promise.resolve();
    const { model, taskId, token } = this.slot;
    const fence = token === null ? {} : { token };
    this.released ??= this.releaser.release(model, taskId, fence).then(
      () => this.finish(),
      // Queued and logged by the gate, or stale (a newer admission holds the id): either way
      // the request's own outcome must not change.
      () => this.finish(),
    );
    return this.released;
  }

  private handlerSettled(outcome: 'succeeded' | 'abandoned'): void {
    if (this.handler !== 'pending') return;
    this.handler = outcome;
    void this.decide();
  }

  private decide(): Promise<void> {
    if (this.isSettled()) return this.released ?? Promise.resolve();
    const fate: SlotFate = slotFate(this.mode, this.handler, this.response);
    if (fate === 'release') return this.release();
    if (fate === 'keep') {
      this.handedOver = true;
      this.finish();
    }
    return Promise.resolve();
  }

  private isSettled(): boolean {
    return this.handedOver || this.released !== undefined;
  }

  private finish(): void {
    this.hooks.keeper?.stop();
    this.hooks.onSettled?.();
    this.markSettled();
  }
}
