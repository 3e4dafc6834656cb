/** What the strictness test's parent and its child processes say to each other over IPC. */

/** One load run, the same in every child. */
export interface StrictnessJob {
  /** 'strict' is the QueueGate; 'naive' checks and adds in two round trips (the control). */
  gate: 'strict' | 'naive';
  /** Redis of the run: a standalone server, or with `cluster`, one of its nodes (unused). */
  redisUrl: string;
  /** When given, the children connect to this Redis Cluster (its startup nodes) instead. */
  cluster?: { host: string; port: number }[];
  /** Key prefix of the run: the gate and the in-flight counter live under it. */
  prefix: string;
  model: string;
  limit: number;
  /** Concurrent async workers in each child. */
  workers: number;
  durationMs: number;
  /** Longest time an admitted worker holds its slot, in ms. */
  holdMs: number;
}

/** What one child observed. */
export interface StrictnessResult {
  /** Highest value of the shared in-flight counter that any admitted worker saw. */
  maxInFlight: number;
  admitted: number;
  refused: number;
  /** Acquire or release calls that threw; the last message is kept. */
  errors: number;
  lastError?: string;
}

/** The in-flight counter of a run. */
export function counterKey(prefix: string): string {
  return `${prefix}in-flight`;
}
