/**
 * What the scale-out section and the application processes it forks send each other, in the
 * steps of support/forked-worker.ts.
 */

/** Where a process's gates live: one Redis, or a Cluster reached through its nodes. */
export type ScaleOutTarget =
  { redisUrl: string } | { clusterNodes: { host: string; port: number }[] };

/** What one application process runs: sent first, before it connects. */
export interface ScaleOutJob {
  target: ScaleOutTarget;
  /** Closed-loop callers in this process. */
  callers: number;
  /** Gates the callers go round; model names are `<gatePrefix><n>`. */
  gates: number;
  gatePrefix: string;
  /** Where this process's callers start in the round of gates, so processes do not move in step. */
  firstGate: number;
}

/** When to start, when the measured window opens and when it closes, on the shared clock. */
export interface ScaleOutSchedule {
  startsAt: number;
  measureFrom: number;
  endsAt: number;
}

/** What one process did in the measured window. */
export interface ScaleOutReport {
  /** Acquire+release pairs whose release completed in the window. */
  admissions: number;
  /** Acquires refused in the window: none is expected, every gate's limit is out of reach. */
  refused: number;
}
