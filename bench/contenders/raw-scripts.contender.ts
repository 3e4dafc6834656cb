import { randomUUID } from 'node:crypto';
import { DEFAULT_KEY_PREFIX, gateKey } from '../../src';
import { defineGateScripts } from '../../src/store/redis/gate-scripts';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';

/**
 * The same Lua scripts with nothing around them: ioredis `defineCommand` (EVALSHA) called
 * directly. The gap between this and {@link queueGateKind} is the service's own cost.
 */
export const rawScriptsKind: ContenderKind = {
  name: 'raw scripts',
  create(client, gate, limit) {
    const scripts = defineGateScripts(client);
    const key = gateKey(DEFAULT_KEY_PREFIX, gate);
    return {
      name: this.name,
      clientCommands: ['evalsha', 'eval', 'zrem'],
      async tryAcquire() {
        const holder = randomUUID();
        const [admitted] = await scripts.queueGateAcquire(key, holder, limit, BENCH.leaseMs);
        return admitted === 1 ? () => client.zrem(key, holder) : null;
      },
      reset: () => client.del(key),
    };
  },
};
