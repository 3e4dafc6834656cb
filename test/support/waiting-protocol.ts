/** What the waiting tests' parent and their child processes say to each other over IPC. */
import type { ModelLimitsEntry } from '../../src/core/limit-source';
import type { AcquireResult } from '../../src/core/gate-results';

/** The gate a child builds: QueueGate on the Redis store, as one application instance has it. */
export interface WaitingGateConfig {
  redisUrl: string;
  prefix: string;
  limits: Record<string, ModelLimitsEntry>;
  waiterLeaseMs: number;
}

/** One acquire the child makes, numbered by the parent. */
export interface WaitingAcquire {
  id: number;
  model: string;
  taskId: string;
  waitMs: number;
  cost?: number;
  tenant?: string;
  /** Gives the call an AbortSignal that a later `abort` message fires. */
  abortable?: boolean;
  /** When admitted: hold this many ms, then release (fenced by the token). Absent: keep it. */
  holdMs?: number;
}

export type WaitingParentMessage =
  | { type: 'configure'; config: WaitingGateConfig }
  | { type: 'acquire'; request: WaitingAcquire }
  | { type: 'abort'; id: number }
  | { type: 'stop' };

/** How an acquire ended in the child: its result, or the error it threw. */
export type WaitingOutcome =
  | { id: number; result: AcquireResult; released: boolean }
  | { id: number; error: { name: string; message: string } };

export type WaitingChildMessage =
  | { type: 'ready' }
  | { type: 'configured' }
  | { type: 'done'; outcome: WaitingOutcome }
  | { type: 'failed'; error: string };
