import { QueueGate, RedisGateStore } from '../../src';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';

/**
 * The package as an application calls it: `QueueGate` (the logic `QueueGateService` adds
 * nothing to on this path) over `RedisGateStore`, with the limit from its options and a
 * server-made holder id. `fenced` releases with the admission's token, as `@QueueLimited` and
 * the lifecycle listener do; otherwise the release is unfenced.
 */
function queueGate(name: string, fenced: boolean, autoPipelined = false): ContenderKind {
  return {
    name,
    create(client, gate, limit) {
      // Each contender has a connection of its own, and ioredis reads the option on every
      // command: turning it on here changes this contender's connection only.
      if (autoPipelined) client.options.enableAutoPipelining = true;
      const store = new RedisGateStore(client);
      const service = new QueueGate(store, {
        limits: { [gate]: limit },
        lease: { minSeconds: BENCH.leaseMs / 1000 },
      });
      return {
        name: this.name,
        clientCommands: ['evalsha', 'eval'],
        async tryAcquire() {
          const slot = await service.acquire(gate);
          if (!slot.acquired) return null;
          const token = fenced ? slot.token! : undefined;
          return () => service.release(gate, slot.taskId, { token });
        },
        reset: () => client.del(store.keyOf(gate), store.tokensKeyOf(gate)),
      };
    },
  };
}

export const queueGateKind = queueGate('QueueGate', true);
export const unfencedQueueGateKind = queueGate('QueueGate, unfenced release', false);
/** The same on a client with ioredis auto-pipelining: an option measured, not a default. */
export const autoPipelinedQueueGateKind = queueGate('QueueGate, auto-pipelined client', true, true);
