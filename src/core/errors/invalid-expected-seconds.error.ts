import { InvalidArgumentError } from './invalid-argument.error';

/** Thrown when `expectedSeconds` (or `everySeconds`) is not a finite number ≥ 0. */
export class InvalidExpectedSecondsError extends InvalidArgumentError {
  constructor(value: unknown, argument = 'expectedSeconds') {
    super(argument, value, 'it must be a finite number >= 0');
  }
}
