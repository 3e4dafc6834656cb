import { QueueGate, RedisGateStore } from '../../src';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';

/**
 * The package as an application calls it: `QueueGate` (the logic `QueueGateService` adds
 * nothing to on this path) over `RedisGateStore`, with the limit from its options and a
 * server-made holder id.
 */
export const queueGateKind: ContenderKind = {
  name: 'QueueGate',
  create(client, gate, limit) {
    const store = new RedisGateStore(client);
    const service = new QueueGate(store, {
      limits: { [gate]: limit },
      lease: { minSeconds: BENCH.leaseMs / 1000 },
    });
    return {
      name: this.name,
      clientCommands: ['evalsha', 'eval', 'zrem'],
      async tryAcquire() {
        const slot = await service.acquire(gate);
        return slot.acquired ? () => service.release(gate, slot.taskId) : null;
      },
      reset: () => client.del(store.keyOf(gate)),
    };
  },
};
