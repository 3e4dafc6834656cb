import type { ContenderKind } from './contender';
import { queueGateKind } from './queue-gate.contender';
import { rawScriptsKind } from './raw-scripts.contender';
import { redisSemaphoreKind } from './redis-semaphore.contender';
import { seedKind } from './seed.contender';

/** Every contender of the closed-loop comparison, in report order. */
export const CONTENDERS: readonly ContenderKind[] = [
  queueGateKind,
  rawScriptsKind,
  seedKind,
  redisSemaphoreKind,
];
