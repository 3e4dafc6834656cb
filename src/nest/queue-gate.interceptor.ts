import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, from, mergeMap, type Observable, tap, throwError } from 'rxjs';
import { ClientClosedRequestException } from './client-closed-request.exception';
import { findRequestSlot } from './find-request-slot';
import type { RequestSlot } from './request-slot';

/**
 * The handler half of `@QueueLimited`: tells the request's slot what became of the handler.
 * It gives the slot back at once when the handler, a pipe or a later interceptor fails —
 * before the error is turned into a response, which then reaches the client unchanged — and
 * reports a handler unsubscribed before it ended (a global timeout interceptor, a stream whose
 * client left), whose slot the response then decides. When the response ended before the
 * handler could run, the handler is skipped (499) so no task is made without a slot.
 */
@Injectable()
export class QueueGateInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const slot = this.getRequestSlot(context);
    if (!slot) return next.handle();
    if (!slot.handlerStarting()) {
      const gone = new ClientClosedRequestException(slot.slot.model);
      return from(slot.release()).pipe(mergeMap(() => throwError(() => gone)));
    }
    return next.handle().pipe(
      // `unsubscribe` runs only for an unsubscribe before complete or error.
      tap({ complete: () => slot.handlerSucceeded(), unsubscribe: () => slot.handlerAbandoned() }),
      catchError((error: unknown) =>
        from(slot.handlerFailed()).pipe(mergeMap(() => throwError(() => error))),
      ),
    );
  }

  /**
   * The slot the guard attached to the request, wherever the guard's `getHttpPair` found the
   * request (see {@link findRequestSlot}); a transport rarely needs to override this.
   */
  protected getRequestSlot(context: ExecutionContext): RequestSlot | undefined {
    return findRequestSlot(context);
  }
}
