import { QueueGateError } from './queue-gate.error';

/**
 * Thrown by a release or extend that names a fencing token the holder no longer holds: the task
 * was admitted again since (a retry), so this caller speaks for an admission that is over.
 * Nothing was changed. `currentToken` is the token the holder holds now.
 */
export class StaleTokenError extends QueueGateError {
  constructor(
    readonly model: string,
    readonly taskId: string,
    readonly operation: 'release' | 'extend',
    readonly token: number,
    readonly currentToken: number | null,
  ) {
    super(
      `Queue gate "${model}": ${operation} of task "${taskId}" with token ${token} is stale; ` +
        `the task holds token ${currentToken} now (it was admitted again). Nothing was changed.`,
    );
  }
}
