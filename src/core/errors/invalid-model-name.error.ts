import { InvalidArgumentError } from './invalid-argument.error';

/**
 * Thrown when a model (gate) name is not a non-empty string of at most 256 characters
 * without `{` or `}` (braces are reserved for the Redis Cluster hash tag of the gate's key).
 */
export class InvalidModelNameError extends InvalidArgumentError {
  constructor(value: unknown, requirement: string) {
    super('model', value, requirement);
  }
}
