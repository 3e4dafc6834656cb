import type {
  AcquireObservation,
  AcquireOutcome,
  GateObserver,
  ReleaseObservation,
} from '../../src';

/** One acquire call as the live page lists it. */
export interface LiveAdmission {
  /** When the call ended, epoch ms. */
  at: number;
  model: string;
  taskId: string;
  outcome: AcquireOutcome;
  refusedBy: AcquireObservation['refusedBy'];
  waitedMs: number;
}

/**
 * Keeps the last acquire calls of the gate for the live page and tells its open streams that
 * something changed. The gate calls it synchronously on its path, so it only records and
 * signals; the streams read the gate themselves afterwards.
 */
export class LiveFeed implements GateObserver {
  private readonly entries: LiveAdmission[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly size = 20) {}

  onAcquire(observation: AcquireObservation): void {
    const { model, taskId, outcome, refusedBy, waitedMs } = observation;
    this.entries.unshift({ at: Date.now(), model, taskId, outcome, refusedBy, waitedMs });
    if (this.entries.length > this.size) this.entries.length = this.size;
    this.changed();
  }

  onRelease(_observation: ReleaseObservation): void {
    this.changed();
  }

  /** The last acquire calls, newest first. */
  recent(): LiveAdmission[] {
    return [...this.entries];
  }

  /** Calls `listener` after every acquire and release; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
