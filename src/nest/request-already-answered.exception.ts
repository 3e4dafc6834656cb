import { HttpException } from '@nestjs/common';

/**
 * The request's response was already sent by something else (a request-timeout middleware,
 * typically) when the gate admitted it: the slot went straight back and the handler is not
 * run. Nobody receives this answer; it ends the request and shows in logs and metrics.
 */
export class RequestAlreadyAnsweredException extends HttpException {
  /** @param model - The gate (model) the request was for. */
  constructor(readonly model: string) {
    super(
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: `The request for model "${model}" was answered before its gate admitted it.`,
        model,
      },
      503,
    );
  }
}
