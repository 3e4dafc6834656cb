/**
 * What the waiting section and the worker processes it forks send each other, in the steps of
 * support/forked-worker.ts.
 */

/** What one worker process runs: sent first, before it connects. */
export interface WaitingJob {
  redisUrl: string;
  /** A key of {@link WAITING_CONTENDERS}. */
  contender: string;
  /** The gate's key or model name, distinct per contender. */
  gate: string;
  /** Closed-loop waiters in this process. */
  waiters: number;
}

/**
 * When to start, when the measured window opens and when waiters stop arriving, on the clock
 * of {@link sharedNow}. The parent picks the instants so that every process starts together.
 */
export interface WaitingSchedule {
  startsAt: number;
  measureFrom: number;
  endsAt: number;
}

/**
 * What one worker process saw, for waits that began in the measured window. Parallel arrays:
 * wait i began (acquire was called) at `arrivedAt[i]` and ended at `answeredAt[i]`, admitted
 * or not (`admitted[i]`); an admitted task's release had completed at `releasedAt[i]`.
 * `inRedis[i]` is the admission as Redis saw it, where the gate tells (see `Admission`).
 */
export interface WaitingReport {
  arrivedAt: number[];
  answeredAt: number[];
  admitted: boolean[];
  releasedAt: (number | null)[];
  inRedis: ({ reachedAt: number; order: number } | null)[];
  /** Admissions whose instant fell in the measured window, wherever their wait began. */
  admissionsInWindow: number;
  /** Redis commands this process sent in the measured window, by name. */
  commands: Record<string, number>;
}
