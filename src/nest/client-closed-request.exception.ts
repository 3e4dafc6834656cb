import { HttpException } from '@nestjs/common';

/**
 * 499 Client Closed Request (the status nginx logs for it): the client left after its slot
 * was taken but before the handler ran, so the handler is not run and the slot is given back.
 * Nobody receives this answer; it ends the request and shows in logs and metrics.
 */
export class ClientClosedRequestException extends HttpException {
  /** @param model - The gate (model) the request was for. */
  constructor(readonly model: string) {
    super(
      {
        statusCode: 499,
        error: 'Client Closed Request',
        message: `The client left before the request for model "${model}" was handled.`,
        model,
      },
      499,
    );
  }
}
