import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * 429 Too Many Requests: the model's gate is full. The body names the model and its limit;
 * the guard also sets `Retry-After` and the RateLimit headers.
 */
export class QueueGateFullException extends HttpException {
  constructor(
    /** The gate (model) that is full. */
    readonly model: string,
    /** Its limit. */
    readonly limit: number,
  ) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `Model "${model}" is at its limit of ${limit} concurrent tasks; retry later.`,
        model,
        limit,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
