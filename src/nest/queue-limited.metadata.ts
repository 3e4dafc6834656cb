import type { ExecutionContext } from '@nestjs/common';
import type { QueueLimitedOptions } from './queue-gate.options';

/** The model of a limited route: a name, or a function of the request's context. */
export type ModelSource = string | ((context: ExecutionContext) => string | Promise<string>);

/** What `@QueueLimited` records on a class or method. */
export interface QueueLimitedMetadata {
  model: ModelSource;
  options: QueueLimitedOptions;
}

export const QUEUE_LIMITED_METADATA = 'queue-gate:limited';
export const SKIP_QUEUE_GATE_METADATA = 'queue-gate:skip';
