import { DeadlineExceededError } from './deadline';

/** A call still waiting for its answer. */
interface PendingCall {
  endsAt: number;
  fail: (error: unknown) => void;
}

/**
 * Bounds calls that all share one timeout with a single timer, instead of a timer and a
 * `Promise.race` per call: every call's deadline is its start plus the same span, so the
 * oldest call still waiting is always the next to time out, and the timer only ever needs to
 * be armed for it. Like `withDeadline`, the work itself is not cancelled.
 */
export class CallDeadlines {
  /** Insertion order is start order, hence deadline order. */
  private readonly pending = new Set<PendingCall>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly milliseconds: number) {}

  /**
   * Settles like `work`, or rejects with `failure(DeadlineExceededError)` once the span passes;
   * `failure` also maps the work's own rejection, so a call costs one promise.
   */
  bound<T>(work: Promise<T>, failure: (error: unknown) => unknown = (error) => error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        endsAt: performance.now() + this.milliseconds,
        // The work's own rejection reason passes through unchanged unless `failure` maps it.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        fail: (error) => reject(failure(error)),
      };
      this.pending.add(call);
      if (!this.timer) this.arm(this.milliseconds);
      work.then(
        (value) => {
          this.pending.delete(call);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(call);
          call.fail(error);
        },
      );
    });
  }

  /** Calls waiting for an answer. */
  get size(): number {
    return this.pending.size;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.sweep(), delayMs);
    // Waiting calls keep the process alive through their sockets, not through this timer.
    this.timer.unref();
  }

  /** Fails every call past its deadline, then sleeps until the next one's. */
  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const call of this.pending) {
      if (call.endsAt > now) {
        this.arm(Math.max(1, Math.ceil(call.endsAt - now)));
        return;
      }
      this.pending.delete(call);
      call.fail(new DeadlineExceededError(this.milliseconds));
    }
  }
}
