import type { Redis } from 'ioredis';
import { QueueGate, RedisGateStore } from '../../src';
import { BENCH } from '../config';

/**
 * The gates that sections 4 and 5 share: one held by 100 holders, one by 100,000, both through
 * the service with no limit and a lease that outlasts the run.
 */
export interface HeldGates {
  readonly gate: QueueGate;
  readonly store: RedisGateStore;
  /** Model name of the gate with `size` holders. */
  modelOf(size: number): string;
}

export function heldGates(client: Redis): HeldGates {
  const store = new RedisGateStore(client);
  const gate = new QueueGate(store, {
    defaultLimit: null,
    lease: { minSeconds: BENCH.leaseMs / 1000 },
  });
  return { gate, store, modelOf: (size) => `held-${size}` };
}
