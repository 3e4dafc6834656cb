import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { GateSlotInfo } from './gate-slot';
import { findRequestSlot } from './find-request-slot';

/**
 * Injects the request's {@link GateSlotInfo} (model, taskId, token, expiresAt, used, limit,
 * tracked)
 * into a handler parameter, so the task can be stored with its slot. Undefined on routes
 * without `@QueueLimited`.
 */
export const GateSlot = createParamDecorator(
  (_data: unknown, context: ExecutionContext): GateSlotInfo | undefined =>
    findRequestSlot(context)?.slot,
);
