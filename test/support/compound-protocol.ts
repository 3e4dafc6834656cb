/** What the compound strictness test's parent and its child processes say to each other. */

/**
 * The gate each child runs: the real QueueGate on the Redis store, or a deliberately broken
 * variant (the negative controls) that over-admits by passing the store every task as cost 1,
 * or without its tenant's share.
 */
export type CompoundGateKind = 'strict' | 'ignores-cost' | 'ignores-share';

/** One load run, the same in every child. */
export interface CompoundJob {
  gate: CompoundGateKind;
  redisUrl: string;
  /** Key prefix of the run: the gate and the ledger's sequence live under it. */
  prefix: string;
  model: string;
  limit: number;
  perTenant: number;
  tenants: string[];
  /** Concurrent async workers in each child. */
  workers: number;
  durationMs: number;
  /** Longest time an admitted worker holds its units, in ms. */
  holdMs: number;
  /** Share of the calls that wait (waitMs 10–250 ms, some aborted); the others answer at once. */
  waitShare: number;
}

/**
 * One admission as the worker that got it saw it: what it takes, and the interval it certainly
 * held it, as two numbers of a sequence that Redis hands out (INCR) after the acquire answered
 * and before the release was sent. Redis runs every command one at a time, so the two numbers
 * lie inside the span from the script that admitted the holder to the one that released it.
 */
export interface LedgerEntry {
  cost: number;
  tenant: string | null;
  start: number;
  end: number;
}

/** What one child did, and the ledger of its admissions. */
export interface CompoundResult {
  entries: LedgerEntry[];
  /** Admissions of calls that asked to wait (some of them after waiting). */
  admittedWaiting: number;
  refusedByModel: number;
  refusedByTenant: number;
  /** Waiting calls whose signal fired first (AcquireAbortedError). */
  aborted: number;
  /** Calls that threw anything else; the last message is kept. */
  errors: number;
  lastError?: string;
}

/** The ledger's sequence of a run. */
export function sequenceKey(prefix: string): string {
  return `${prefix}ledger-sequence`;
}
