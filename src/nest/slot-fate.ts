import type { SlotRelease } from './queue-gate.options';

/**
 * What is known of the handler of a `@QueueLimited` request:
 * - `not-started`: guards after the gate's, pipes or the client may still stop it;
 * - `pending`: it runs, its outcome is not known yet;
 * - `succeeded` / `failed`: its observable completed or errored (a failure of a pipe or a later
 *   interceptor counts as the handler's);
 * - `abandoned`: its observable was unsubscribed before either (a timeout interceptor, a
 *   stream whose client left), so its outcome will never be known.
 */
export type HandlerOutcome = 'not-started' | 'pending' | 'succeeded' | 'failed' | 'abandoned';

/** What is known of the request's response. */
export type ResponseState =
  | { readonly ended: false }
  /** `finished`: fully delivered (false when the client left first). */
  | { readonly ended: true; readonly finished: boolean; readonly statusCode: number };

/** What to do with the slot now: nothing yet, give it back, or leave it to the task. */
export type SlotFate = 'wait' | 'release' | 'keep';

export const RESPONSE_OPEN: ResponseState = Object.freeze({ ended: false });

/**
 * The rules of a request's slot, as one table:
 * - `'response'`: the slot is the response; it goes back once the response has ended, and not
 *   before (a stream still flowing still uses the backend), whatever the handler did.
 * - `'event'`, handler failed: back at once, before the error is turned into a response.
 * - `'event'`, handler never ran and the response ended (a later guard said no, the client
 *   left, something else answered): back.
 * - `'event'`, handler running: wait for its outcome, whatever the response does; a client
 *   that leaves does not undo the task the handler may be creating.
 * - `'event'`, handler succeeded or abandoned: the response decides once it has ended. An
 *   error status (>= 400) means the client was told there is no task: back. Otherwise the
 *   slot is the task's (also when the client left before the body arrived: the task exists).
 *   An abandoned handler's outcome is unknown, so the status is the only word on it.
 */
export function slotFate(
  mode: SlotRelease,
  handler: HandlerOutcome,
  response: ResponseState,
): SlotFate {
  if (mode === 'response') return response.ended ? 'release' : 'wait';
  switch (handler) {
    case 'failed':
      return 'release';
    case 'pending':
      return 'wait';
    case 'not-started':
      return response.ended ? 'release' : 'wait';
    case 'succeeded':
    case 'abandoned':
      if (!response.ended) return 'wait';
      return response.statusCode >= 400 ? 'release' : 'keep';
  }
}
