import type { GateLogger } from './gate-logger';

/** Tuning of the queue of releases that could not reach the store. */
export interface PendingReleaseOptions {
  /** Most releases kept; past it the oldest is dropped (its lease is the last safety net). Default 10000. */
  maxSize: number;
  /** First retry delay, in ms; doubled after every failed round. Default 100. */
  initialDelayMs: number;
  /** Longest retry delay, in ms. Default 5000. */
  maxDelayMs: number;
}

export const DEFAULT_PENDING_RELEASE_OPTIONS: Readonly<PendingReleaseOptions> = Object.freeze({
  maxSize: 10_000,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
});

/** How many releases are retried at once. */
const BATCH = 32;

interface PendingRelease {
  gate: string;
  holder: string;
  since: number;
}

/**
 * Releases that failed, retried with exponential backoff until they land. One backoff for the
 * whole queue: when one release fails the store is most likely down for all of them.
 */
export class PendingReleaseQueue {
  /** Keyed by gate and holder; insertion order makes the first entry the oldest. */
  private readonly entries = new Map<string, PendingRelease>();
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private failedRounds = 0;
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly send: (gate: string, holder: string) => Promise<unknown>,
    private readonly options: PendingReleaseOptions,
    private readonly logger: GateLogger,
  ) {}

  /** Releases waiting to land. */
  get size(): number {
    return this.entries.size;
  }

  /** Releases given up at the bound since the queue was made. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Queues a release; a release already queued for the same holder is kept once. */
  add(gate: string, holder: string, cause: unknown): void {
    const id = entryId(gate, holder);
    if (this.entries.has(id)) return;
    if (this.entries.size >= this.options.maxSize) this.dropOldest();
    if (this.entries.size === 0) {
      this.logger.warn(
        `Queue gate "${gate}": release of "${holder}" could not reach the store (${message(cause)}); ` +
          'queued, retrying until it lands.',
      );
    }
    this.entries.set(id, { gate, holder, since: Date.now() });
    this.schedule();
  }

  /**
   * Forgets a queued release, for a holder that acquires again: a stale release landing after
   * the new acquire would free the new slot.
   */
  cancel(gate: string, holder: string): boolean {
    // Called on every acquire and release: skip building the key while nothing is queued.
    if (this.entries.size === 0) return false;
    return this.entries.delete(entryId(gate, holder));
  }

  /** Retries until the queue is empty or `deadlineMs` passes; returns how many are left. */
  async flush(deadlineMs: number): Promise<number> {
    const end = Date.now() + deadlineMs;
    this.clearTimer();
    while (this.entries.size > 0 && Date.now() < end) {
      await this.drain();
      if (this.entries.size > 0) await sleep(Math.min(this.delay(), Math.max(0, end - Date.now())));
    }
    this.clearTimer();
    return this.entries.size;
  }

  /** Stops retrying; queued releases stay queued (their leases still end). */
  close(): void {
    // A round still in flight would otherwise arm a new timer when it ends.
    this.closed = true;
    this.clearTimer();
  }

  private schedule(): void {
    if (this.closed || this.timer || this.draining || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain().then(() => this.schedule());
    }, this.delay());
    this.timer.unref();
  }

  private drain(): Promise<void> {
    this.draining ??= this.retryAll().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async retryAll(): Promise<void> {
    const queue = [...this.entries];
    let landed = 0;
    while (queue.length > 0) {
      const batch = queue.splice(0, BATCH);
      const results = await Promise.allSettled(
        batch.map(([, entry]) => this.send(entry.gate, entry.holder)),
      );
      results.forEach((result, i) => {
        if (result.status === 'fulfilled' && this.entries.delete(batch[i][0])) landed++;
      });
      if (results.some((result) => result.status === 'rejected')) {
        this.failedRounds++;
        return;
      }
    }
    if (landed > 0) this.logger.log(`${landed} queued gate release(s) landed.`);
    this.failedRounds = 0;
  }

  private delay(): number {
    const { initialDelayMs, maxDelayMs } = this.options;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** this.failedRounds);
    // Jitter spreads the retries of many instances after a shared outage.
    return Math.round(base * (0.5 + Math.random() / 2));
  }

  private dropOldest(): void {
    const [id, oldest] = this.entries.entries().next().value as [string, PendingRelease];
    this.entries.delete(id);
    this.dropped++;
    this.logger.error(
      `Queue gate "${oldest.gate}": pending-release queue is full (${this.options.maxSize}); ` +
        `dropped the release of "${oldest.holder}" queued ${Date.now() - oldest.since} ms ago. ` +
        'Its slot comes back when its lease ends.',
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function entryId(gate: string, holder: string): string {
  return `${gate}\u0000${holder}`;
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
