import type { GateLogger } from './gate-logger';
import type { ReleaseFence, ReleaseReply } from './gate-store';
import type { ReleaseOutcome } from './gate-observer';
import { pairKey } from './pair-key';
import { errorMessage } from './errors/error-message';

/** Tuning of the queue of releases that could not reach the store. */
export interface PendingReleaseOptions {
  /** Most releases kept; past it the oldest is dropped (its lease is the last safety net). Default 10000. */
  maxSize: number;
  /** First retry delay, in ms; doubled after every failed round. Default 100. */
  initialDelayMs: number;
  /** Longest retry delay, in ms. Default 5000. */
  maxDelayMs: number;
}

/**
 * Defaults of the `pendingReleases` option: at most 10000 queued, retries from 100 ms doubling up
 * to 5000 ms.
 */
export const DEFAULT_PENDING_RELEASE_OPTIONS: Readonly<PendingReleaseOptions> = Object.freeze({
  maxSize: 10_000,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
});

/** How many releases are retried at once. */
const BATCH = 32;

/**
 * Longest pause between two rounds of a flush, in ms: a flush has a deadline (shutdown), so it
 * keeps trying at this pace even when the backoff has grown to many seconds.
 */
const FLUSH_PAUSE_MS = 200;

/** A release waiting to land. */
export interface PendingRelease {
  gate: string;
  holder: string;
  /** Absent for an unfenced release. */
  fence?: ReleaseFence;
  since: number;
}

/** Counts of the queue's life, for `pendingReleases()`. */
export interface PendingReleaseCounts {
  /** Releases waiting to land. */
  queued: number;
  /** Releases given up at the queue's bound (their leases still end). */
  dropped: number;
  /** Queued releases that landed on a newer admission and, being fenced, changed nothing. */
  stale: number;
  /** Releases that failed after the queue was closed (shutdown) and were never retried. */
  undelivered: number;
}

/**
 * Releases that failed, retried with exponential backoff until they land. One backoff for the
 * whole queue: when one release fails the store is most likely down for all of them.
 */
export class PendingReleaseQueue {
  /** Keyed by gate, holder and fence; insertion order makes the first entry the oldest. */
  private readonly entries = new Map<string, PendingRelease>();
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private failedRounds = 0;
  private readonly counts = { dropped: 0, stale: 0, undelivered: 0 };
  private closed = false;

  constructor(
    private readonly send: (release: PendingRelease) => Promise<ReleaseReply>,
    private readonly options: PendingReleaseOptions,
    private readonly logger: GateLogger,
    /** Told when a release is queued, lands (`landed`, `not_held`, `stale`) or is given up. */
    private readonly onOutcome: (release: PendingRelease, outcome: ReleaseOutcome) => void = () =>
      undefined,
  ) {}

  /** Releases waiting to land. */
  get size(): number {
    return this.entries.size;
  }

  /** The queue's counts since it was made. */
  stats(): PendingReleaseCounts {
    return { queued: this.entries.size, ...this.counts };
  }

  /**
   * Queues a release; the same release (gate, holder and fence) is kept once. After `close()`
   * nothing is retried any more: the release is counted and logged as undelivered instead.
   * Returns whether the release will be retried.
   */
  add(gate: string, holder: string, fence: ReleaseFence | undefined, cause: unknown): boolean {
    if (this.closed) {
      this.counts.undelivered++;
      this.onOutcome({ gate, holder, fence, since: Date.now() }, 'dropped');
      this.logger.error(
        `Queue gate "${gate}": release of "${holder}" could not reach the store ` +
          `(${errorMessage(cause)}) after shutdown began; its slot comes back when its lease ends.`,
      );
      return false;
    }
    const id = entryId(gate, holder, fence);
    if (this.entries.has(id)) return true;
    if (this.entries.size >= this.options.maxSize) this.dropOldest();
    if (this.entries.size === 0) {
      this.logger.warn(
        `Queue gate "${gate}": release of "${holder}" could not reach the store (${errorMessage(cause)}); ` +
          'queued, retrying until it lands.',
      );
    }
    const entry = { gate, holder, fence, since: Date.now() };
    this.entries.set(id, entry);
    this.onOutcome(entry, 'queued');
    this.schedule();
    return true;
  }

  /**
   * Takes the queued unfenced releases of a holder out of the queue, for a holder that acquires
   * again: landing after the new acquire, they would free the new slot. Fenced releases stay:
   * they change nothing once the holder holds a newer admission. Returns what was taken, so a
   * caller whose acquire failed can put it back.
   */
  cancel(gate: string, holder: string): PendingRelease[] {
    // Called on every acquire: skip building the key while nothing is queued.
    if (this.entries.size === 0) return [];
    const id = entryId(gate, holder, undefined);
    const entry = this.entries.get(id);
    if (!entry) return [];
    this.entries.delete(id);
    return [entry];
  }

  /** Puts back releases taken by `cancel`. */
  restore(taken: readonly PendingRelease[], cause: unknown): void {
    for (const { gate, holder, fence } of taken) this.add(gate, holder, fence, cause);
  }

  /** Retries until the queue is empty or `deadlineMs` passes; returns how many are left. */
  async flush(deadlineMs: number): Promise<number> {
    const end = Date.now() + deadlineMs;
    this.clearTimer();
    while (this.entries.size > 0 && Date.now() < end) {
      await this.drain();
      if (this.entries.size > 0) {
        await sleep(Math.min(this.delay(), FLUSH_PAUSE_MS, Math.max(0, end - Date.now())));
      }
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
    const ids = [...this.entries.keys()];
    let landed = 0;
    while (ids.length > 0) {
      // Entries cancelled while an earlier batch was in flight must not be sent.
      const batch = ids
        .splice(0, BATCH)
        .map((id) => [id, this.entries.get(id)] as const)
        .filter((pair): pair is readonly [string, PendingRelease] => pair[1] !== undefined);
      const results = await Promise.allSettled(batch.map(([, entry]) => this.send(entry)));
      results.forEach((result, i) => {
        const [id, entry] = batch[i];
        if (result.status !== 'fulfilled' || this.entries.get(id) !== entry) return;
        this.entries.delete(id);
        landed++;
        if (result.value.stale) this.counts.stale++;
        const { released, stale } = result.value;
        this.onOutcome(entry, stale ? 'stale' : released ? 'landed' : 'not_held');
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
    this.counts.dropped++;
    this.onOutcome(oldest, 'dropped');
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

function entryId(gate: string, holder: string, fence: ReleaseFence | undefined): string {
  const suffix =
    fence === undefined ? '' : 'token' in fence ? `#${fence.token}` : `@${fence.attempt}`;
  return pairKey(gate, holder) + suffix;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
