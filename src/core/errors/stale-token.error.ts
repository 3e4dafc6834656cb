import { QueueGateError } from './queue-gate.error';

/**
 * Thrown by a release or extend that names a fencing token the holder no longer holds: the task
 * was admitted again since (a retry), so this caller speaks for an admission that is over.
 * Nothing was changed. `currentToken` is the token the holder holds now.
 */
export class StaleTokenError extends QueueGateError {
  constructor(
    /** The gate (model) of the call. */
    readonly model: string,
    /** The task whose admission is over. */
    readonly taskId: string,
    /** The fenced operation that changed nothing. */
    readonly operation: 'release' | 'extend',
    /** The token the call named. */
    readonly token: number,
    /** The token of the admission the task holds now (null when it holds none). */
    readonly currentToken: number | null,
  ) {
    super(
      `Queue gate "${model}": ${operation} of task "${taskId}" with token ${token} is stale; ` +
        `the task holds token ${currentToken} now (it was admitted again). Nothing was changed.`,
    );
  }
}
