import { QueueGateError } from '../../core/errors/queue-gate.error';

/**
 * Thrown at boot when the module was given no store: the gate never falls back to a
 * per-process store silently, since that would multiply the limit by the number of instances.
 */
export class MissingGateStoreError extends QueueGateError {
  constructor(detail: string) {
    super(
      `QueueGateModule has no store: ${detail}. Pass redis: { url } or redis: { options } ` +
        '(the module opens and closes the client), redis: { client } (a client you own), ' +
        "redis: { namespace } (a client of @liaoliaots/nestjs-redis's RedisModule), " +
        "or store: 'memory' for a single process.",
    );
  }
}
