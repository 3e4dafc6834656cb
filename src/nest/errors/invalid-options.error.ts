import { describeValue } from '../../core/errors/describe-value';
import { QueueGateError } from '../../core/errors/queue-gate.error';

/**
 * Thrown at boot when the module options are malformed. `option` is the dotted path of the
 * offending option and `value` what was given.
 */
export class InvalidQueueGateOptionsError extends QueueGateError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    requirement: string,
  ) {
    super(`Invalid QueueGateModule option "${option}": ${describeValue(value)}; ${requirement}.`);
  }
}
