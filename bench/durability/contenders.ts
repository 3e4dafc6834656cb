import { QueueGate, RedisGateStore, type DurabilityOptions } from '../../src';
import { BENCH } from '../config';
import type { ContenderKind } from '../contenders/contender';

/**
 * QueueGate as the throughput section's contender runs it (limit from its options, server-made
 * holder id, fenced release), with or without `durability`. With it, `RedisGateStore.acquire`
 * pipelines `WAIT replicas timeoutMs` behind every admitting script on the same connection.
 */
function queueGate(name: string, durability: DurabilityOptions | undefined): ContenderKind {
  return {
    name,
    create(client, gate, limit) {
      const store = new RedisGateStore(client);
      const service = new QueueGate(store, {
        limits: { [gate]: limit },
        lease: { minSeconds: BENCH.leaseMs / 1000 },
        durability,
      });
      return {
        name: this.name,
        clientCommands: ['evalsha', 'eval', 'wait'],
        async tryAcquire() {
          const slot = await service.acquire(gate);
          if (!slot.acquired) return null;
          return () => service.release(gate, slot.taskId, { token: slot.token! });
        },
        reset: () => client.del(store.keyOf(gate), store.tokensKeyOf(gate)),
      };
    },
  };
}

export const withoutDurabilityKind = queueGate('QueueGate', undefined);
export const withDurabilityKind = queueGate('QueueGate, durability: { replicas: 1 }', {
  replicas: BENCH.durability.replicas,
  timeoutMs: BENCH.durability.timeoutMs,
});

/** Without first: ratios are with ÷ without. */
export const DURABILITY_CONTENDERS: readonly ContenderKind[] = [
  withoutDurabilityKind,
  withDurabilityKind,
];
