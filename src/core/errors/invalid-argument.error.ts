import { describeValue } from './describe-value';
import { QueueGateError } from './queue-gate.error';

/**
 * Thrown when an argument of a gate call is malformed. `argument` names the parameter and
 * `value` holds what was passed; nothing reached the store.
 */
export class InvalidArgumentError extends QueueGateError {
  constructor(
    /**
     * The malformed argument, by name or path (`model`, `taskId`, `limit (from …)`,
     * `everySeconds`).
     */
    readonly argument: string,
    /** The value that was passed. */
    readonly value: unknown,
    /** What a valid value looks like. */
    readonly requirement: string,
  ) {
    super(`Invalid ${argument}: ${describeValue(value)}; ${requirement}.`);
  }
}
