import { InvalidArgumentError } from './invalid-argument.error';

/** Thrown when a task id is not a non-empty string of at most 256 characters. */
export class InvalidTaskIdError extends InvalidArgumentError {
  constructor(value: unknown, requirement: string) {
    super('taskId', value, requirement);
  }
}
