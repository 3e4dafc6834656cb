import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';

import { assertModelName } from '../core/validation';
import { QueueGateGuard } from './queue-gate.guard';
import { QueueGateInterceptor } from './queue-gate.interceptor';
import type { QueueLimitedOptions } from './queue-gate.options';
import {
  type ModelSource,
  type QueueLimitedMetadata,
  QUEUE_LIMITED_METADATA,
  SKIP_QUEUE_GATE_METADATA,
} from './queue-limited.metadata';
import { validateQueueLimitedOptions } from './validate-module-options';

/**
 * Puts a route (method) or every route of a controller (class) behind the model's gate: the
 * slot is taken by a guard before the handler runs and given back by the rules of `release`.
 * On both, the method's model wins and its options override the class's field by field.
 *
 * On an `@Sse()` route without a `release` option of its own (on the method or the class),
 * `release` is `'response'`: a stream's slot is the stream, and goes back when it ends.
 *
 * Guards run in declaration order after global guards: write `@QueueLimited` above (after)
 * your authentication guards so unauthenticated requests never take a slot.
 *
 * Throws {@link InvalidModelNameError} or `InvalidQueueGateOptionsError` at decoration time.
 */
export function QueueLimited(
  model: ModelSource,
  options: QueueLimitedOptions = {},
): ClassDecorator & MethodDecorator {
  if (typeof model !== 'function') assertModelName(model);
  validateQueueLimitedOptions(options, '@QueueLimited options');
  const metadata: QueueLimitedMetadata = { model, options };
  return applyDecorators(
    SetMetadata(QUEUE_LIMITED_METADATA, metadata),
    UseGuards(QueueGateGuard),
    // A 'response' slot goes back when the response ends whatever the handler did, so it
    // needs no interceptor (Nest's interceptor pipeline costs more than the gate itself). An
    // @Sse() route may be declared above this decorator, so only the guard knows it streams;
    // the interceptor it keeps then changes nothing for its 'response' slot.
    ...(options.release === 'response' ? [] : [UseInterceptors(QueueGateInterceptor)]),
  );
}

/** Exempts a route of a `@QueueLimited` controller from the gate. */
export function SkipQueueGate(): ClassDecorator & MethodDecorator {
  return SetMetadata(SKIP_QUEUE_GATE_METADATA, true);
}
