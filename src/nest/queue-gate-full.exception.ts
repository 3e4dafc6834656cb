import { HttpException, HttpStatus } from '@nestjs/common';
import type { RefusedBy } from '../core/gate-store';

/** What else a 429 says: which limit was hit, for which tenant, and the place a waiter had. */
export interface GateFullDetails {
  /** The limit that refused the request: the model's (default) or the tenant's share. */
  limitHit?: RefusedBy;
  /** The tenant, when the tenant's share was hit. */
  tenant?: string;
  /** The place in the queue a request that waited had when its wait ran out (1 = next). */
  position?: number | null;
}

/**
 * 429 Too Many Requests: the model's gate is full, or the tenant's share of it. The body names
 * the model, the limit that was hit (`limitHit`) and that limit; the guard also sets
 * `Retry-After`, the RateLimit headers and, after a wait, `Queue-Waited-Ms` and
 * `Queue-Position`.
 */
export class QueueGateFullException extends HttpException {
  /** The limit that refused the request. */
  readonly limitHit: RefusedBy;

  constructor(
    /** The gate (model) that is full. */
    readonly model: string,
    /** The limit that was hit (the model's, or the tenant's share). */
    readonly limit: number,
    details: GateFullDetails = {},
  ) {
    const limitHit = details.limitHit ?? 'model';
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message:
          limitHit === 'tenant'
            ? `Tenant "${details.tenant}" is at its share of ${limit} concurrent tasks of model ` +
              `"${model}"; retry later.`
            : `Model "${model}" is at its limit of ${limit} concurrent tasks; retry later.`,
        model,
        limit,
        limitHit,
        ...(details.position != null ? { position: details.position } : {}),
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
    this.limitHit = limitHit;
  }
}
