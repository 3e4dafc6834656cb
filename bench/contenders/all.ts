import type { ContenderKind } from './contender';
import {
  autoPipelinedQueueGateKind,
  queueGateKind,
  unfencedQueueGateKind,
} from './queue-gate.contender';
import { rawScriptsKind } from './raw-scripts.contender';
import { redisSemaphoreKind } from './redis-semaphore.contender';
import { evalPerCallKind } from './eval-per-call.contender';

/** Every contender of the closed-loop comparison, in report order. */
export const CONTENDERS: readonly ContenderKind[] = [
  queueGateKind,
  unfencedQueueGateKind,
  autoPipelinedQueueGateKind,
  rawScriptsKind,
  evalPerCallKind,
  redisSemaphoreKind,
];
