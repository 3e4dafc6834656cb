/** What a `failed` event means for the job's slot. */
export type FailedJobFate = ReleaseFailedJob | KeepFailedJob;

/** No attempt is left (or the error is unrecoverable): give the slot back. */
export interface ReleaseFailedJob {
  /** Release. */
  fate: 'release';
}

/** BullMQ will run it again after `backoffMs`: keep the slot, with a lease that outlives it. */
export interface KeepFailedJob {
  /** Keep. */
  fate: 'keep';
  /** The delay before the next attempt, in ms. */
  backoffMs: number;
}

/** The parts of a BullMQ job and error the decision needs. */
export interface FailedJobFacts {
  /** Attempts made so far, this one included. */
  attemptsMade: number;
  /** Attempts the job was added with (1 when none). */
  attempts: number;
  /** Set when BullMQ finished the job (failed for good). */
  finishedOn?: number;
  /** The error's name (`UnrecoverableError` ends the job at once). */
  errorName?: string;
  /** The delay before the next attempt, in ms, as the job's backoff computes it. */
  backoffMs: number;
}

/**
 * Decides the fate of a failed job's slot: released when the job will not run again (no attempt
 * left, an `UnrecoverableError`, or already finished), kept otherwise.
 */
export function fateOfFailedJob(facts: FailedJobFacts): FailedJobFate {
  const final =
    facts.errorName === 'UnrecoverableError' ||
    facts.finishedOn !== undefined ||
    facts.attemptsMade >= Math.max(1, facts.attempts);
  return final ? { fate: 'release' } : { fate: 'keep', backoffMs: Math.max(0, facts.backoffMs) };
}

/** The backoff before attempt `attemptsMade + 1` of a job added with `backoff`. */
export function backoffDelayMs(
  backoff: number | { type?: string; delay?: number } | undefined,
  attemptsMade: number,
): number {
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return backoff;
  const delay = backoff.delay ?? 0;
  if (backoff.type === 'exponential') return delay * 2 ** Math.max(0, attemptsMade - 1);
  return delay;
}
