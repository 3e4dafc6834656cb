import { QueueGateError } from './queue-gate.error';
import { errorMessage } from './error-message';

/** The gate operations that reach the store. */
export type GateOperation =
  'acquire' | 'release' | 'extend' | 'usage' | 'holders' | 'reconcile' | 'snapshot';

/**
 * Thrown when the store could not answer in time (Redis down, network partition, command
 * timeout). The gate's state is unknown to the caller; `cause` holds the underlying error.
 * `releaseQueued` is true when the operation was a release that the gate keeps retrying.
 */
export class GateUnavailableError extends QueueGateError {
  constructor(
    /** The gate (model) of the call. */
    readonly model: string,
    /** The gate operation that failed. */
    readonly operation: GateOperation,
    cause: unknown,
    /**
     * True when the operation was a release that the gate queued and keeps retrying until it lands.
     * Default false.
     */
    readonly releaseQueued = false,
  ) {
    super(
      `Queue gate "${model}" is unavailable: ${operation} failed (${errorMessage(cause)})` +
        (releaseQueued ? '; the release is queued and retried until it lands.' : '.'),
      { cause },
    );
  }
}
