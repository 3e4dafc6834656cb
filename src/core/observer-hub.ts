import { AcquireAbortedError } from './errors/acquire-aborted.error';
import { errorMessage } from './errors/error-message';
import { GateUnavailableError } from './errors/gate-unavailable.error';
import type { AcquireResult } from './gate-results';
import type { GateLogger } from './gate-logger';
import type {
  AcquireObservation,
  GateObserver,
  ReleaseObservation,
  ReleaseOutcome,
} from './gate-observer';
import { pairKey } from './pair-key';

/**
 * Admissions whose start is remembered for the hold time; past it the oldest is forgotten (a
 * slot released by another process never comes back here).
 */
const MAX_REMEMBERED_ADMISSIONS = 100_000;

/** What an acquire call was asked for, for the observation of a call that failed. */
export interface AcquireCall {
  model: string;
  taskId: string;
  cost: number;
  tenant: string | undefined;
  waits: boolean;
}

/**
 * Hands a gate's acquires and releases to its observers, and measures hold times of the
 * admissions this process made. An observer that throws is logged once and otherwise ignored:
 * watching the gate must never change what it does.
 */
export class ObserverHub {
  private readonly admittedAt = new Map<string, number>();
  private complained = false;

  constructor(
    private readonly observers: readonly GateObserver[],
    private readonly logger: GateLogger,
  ) {}

  /** False when nobody listens: callers skip the clock reads. */
  get active(): boolean {
    return this.observers.length > 0;
  }

  /** An acquire call that answered. */
  answered(call: AcquireCall, result: AcquireResult, durationMs: number): void {
    if (result.acquired && !result.alreadyHeld) this.remember(result.model, result.taskId);
    this.acquire({
      model: result.model,
      taskId: result.taskId,
      outcome: result.acquired
        ? result.alreadyHeld
          ? 'already_held'
          : 'admitted'
        : call.waits
          ? 'timed_out'
          : 'full',
      refusedBy: result.refusedBy,
      tenant: result.tenant,
      cost: result.cost,
      used: result.used,
      limit: result.limit,
      durationMs,
      waitedMs: result.waitedMs,
      reclaimed: result.reclaimed,
    });
  }

  /** An acquire call that threw: only outages and aborts are outcomes; bad input is not. */
  threw(call: AcquireCall, error: unknown, durationMs: number): void {
    const aborted = error instanceof AcquireAbortedError;
    if (!aborted && !(error instanceof GateUnavailableError)) return;
    this.acquire({
      model: call.model,
      taskId: call.taskId,
      outcome: aborted ? 'aborted' : 'unavailable',
      refusedBy: null,
      tenant: call.tenant ?? null,
      cost: call.cost,
      used: null,
      limit: null,
      durationMs,
      waitedMs: aborted ? error.waitedMs : 0,
      reclaimed: 0,
    });
  }

  /** A release's outcome; a landed one ends the hold time this process measured, if any. */
  released(model: string, taskId: string, outcome: ReleaseOutcome): void {
    if (!this.active) return;
    let heldMs: number | null = null;
    if (outcome === 'landed' || outcome === 'not_held') {
      const id = pairKey(model, taskId);
      const since = this.admittedAt.get(id);
      this.admittedAt.delete(id);
      if (outcome === 'landed' && since !== undefined) heldMs = performance.now() - since;
    }
    this.release({ model, taskId, outcome, heldMs });
  }

  private remember(model: string, taskId: string): void {
    const id = pairKey(model, taskId);
    this.admittedAt.delete(id);
    if (this.admittedAt.size >= MAX_REMEMBERED_ADMISSIONS) {
      this.admittedAt.delete(this.admittedAt.keys().next().value as string);
    }
    this.admittedAt.set(id, performance.now());
  }

  private acquire(observation: AcquireObservation): void {
    this.tell((observer) => observer.onAcquire?.(observation));
  }

  private release(observation: ReleaseObservation): void {
    this.tell((observer) => observer.onRelease?.(observation));
  }

  /** Tells every observer, one that throws neither stopping the others nor the gate. */
  private tell(call: (observer: GateObserver) => void): void {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (error) {
        this.complain(error);
      }
    }
  }

  private complain(error: unknown): void {
    if (this.complained) return;
    this.complained = true;
    this.logger.error(
      `A gate observer threw (${errorMessage(error)}); the gate goes on, and further ` +
        'errors of observers are not logged.',
    );
  }
}
