import { QueueGateError } from '../../core/errors/queue-gate.error';

/** Thrown when a feature needs an optional peer package that is not installed or not set up. */
export class MissingDependencyError extends QueueGateError {
  constructor(
    /**
     * The optional peer package the feature needs (`@nestjs/event-emitter`,
     * `@liaoliaots/nestjs-redis`).
     */
    readonly packageName: string,
    feature: string,
    remedy = `install it: npm install ${packageName}`,
  ) {
    super(`${feature} needs ${packageName}; ${remedy}.`);
  }
}
