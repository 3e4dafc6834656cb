import { describeValue } from '../../core/errors/describe-value';
import { QueueGateError } from '../../core/errors/queue-gate.error';

/**
 * Thrown at boot when the module options are malformed. `option` is the dotted path of the
 * offending option and `value` what was given.
 */
export class InvalidQueueGateOptionsError extends QueueGateError {
  constructor(
    /**
     * The dotted path of the offending option (`redis.url`, `lease.maxSeconds`, `@QueueLimited
     * options.release`).
     */
    readonly option: string,
    /** The value that was given. */
    readonly value: unknown,
    requirement: string,
  ) {
    super(`Invalid QueueGateModule option "${option}": ${describeValue(value)}; ${requirement}.`);
  }
}
