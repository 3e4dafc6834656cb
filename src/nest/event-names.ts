import type { QueueGateModuleOptions } from './queue-gate.options';
import { QUEUE_GATE_EVENTS, type QueueGateEventNames } from './task-lifecycle.events';

/** The event names in force: the defaults, overridden by the `events` option. */
export function eventNamesOf(options: QueueGateModuleOptions): QueueGateEventNames {
  return { ...QUEUE_GATE_EVENTS, ...(options.events || {}) };
}
