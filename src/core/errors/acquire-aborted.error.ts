import { QueueGateError } from './queue-gate.error';

/**
 * Thrown by an acquire whose `signal` fired while it waited (or before it started): it left the
 * queue, and an admission it was handed meanwhile was given back. `cause` is the signal's
 * reason.
 */
export class AcquireAbortedError extends QueueGateError {
  constructor(
    /** The gate (model) of the call. */
    readonly model: string,
    /** The task that stopped waiting. */
    readonly taskId: string,
    /** How long it had waited, in ms. */
    readonly waitedMs: number,
    reason: unknown,
  ) {
    super(`Queue gate "${model}": the acquire of task "${taskId}" was aborted.`, {
      cause: reason,
    });
  }
}
