import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * 503 Service Unavailable: the model's gate could not be reached and the route fails closed
 * (the default). The guard also sets `Retry-After`. The underlying error is the `cause`.
 */
export class QueueGateUnavailableException extends HttpException {
  constructor(
    /** The gate (model) that could not be reached. */
    readonly model: string,
    cause: unknown,
  ) {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: `The queue gate of model "${model}" is unavailable; retry later.`,
        model,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
      { cause },
    );
  }
}
