import type { RefusedBy } from './gate-store';

/**
 * How an acquire call ended: `admitted` (a new admission), `already_held` (the task held its
 * slot), `full` (refused at once), `timed_out` (refused when its `waitMs` passed), `aborted`
 * (its signal fired) or `unavailable` (the store did not answer; the call threw).
 */
export type AcquireOutcome =
  'admitted' | 'already_held' | 'full' | 'timed_out' | 'aborted' | 'unavailable';

/**
 * What became of one release: `landed` (it freed a slot; a queued release that lands later is
 * reported again as `landed`), `not_held` (nothing was held), `stale` (fenced to an admission
 * the task no longer holds; nothing changed), `queued` (the store could not be reached: it is
 * retried), `dropped` (given up: the retry queue was full, or the gate had closed; the slot
 * comes back when its lease ends).
 */
export type ReleaseOutcome = 'landed' | 'not_held' | 'stale' | 'queued' | 'dropped';

/** One finished acquire call, as observers see it. */
export interface AcquireObservation {
  /** The gate (model) of the call. */
  model: string;
  /** The task the call was for (the id made for it when none was given). */
  taskId: string;
  /** How the call ended. */
  outcome: AcquireOutcome;
  /** Which limit refused a `full` or `timed_out` call; null otherwise. */
  refusedBy: RefusedBy | null;
  /** The call's tenant, or null. */
  tenant: string | null;
  /** Units the call asked for. */
  cost: number;
  /** Units in use the store reported; null when it did not answer. */
  used: number | null;
  /** The model's limit (null: unlimited, or not known because the call failed first). */
  limit: number | null;
  /** The whole call, waiting included, in ms. */
  durationMs: number;
  /** Time spent in the gate's queue, in ms (0 without `waitMs`). */
  waitedMs: number;
  /** Ended leases this call reclaimed (each a release that never came). */
  reclaimed: number;
}

/** One release, as observers see it. */
export interface ReleaseObservation {
  /** The gate (model) of the release. */
  model: string;
  /** The task whose slot it was. */
  taskId: string;
  /** What became of the release. */
  outcome: ReleaseOutcome;
  /**
   * How long the slot was held, in ms, for a `landed` release of an admission this process
   * made; null when it is not known here (admitted by another process, or before a restart).
   */
  heldMs: number | null;
}

/**
 * Receives what a gate does, for metrics and dashboards. Called synchronously on the gate's
 * path: keep it cheap. An observer that throws is logged once and does not affect the gate.
 */
export interface GateObserver {
  /** After every acquire call that answered, timed out, was aborted or found the store away. */
  onAcquire?(observation: AcquireObservation): void;
  /** After every release outcome, queued releases' later landing or dropping included. */
  onRelease?(observation: ReleaseObservation): void;
}
