import { randomUUID } from 'node:crypto';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';
import { SEED_ACQUIRE_LUA, SEED_KEY_PREFIX, SEED_RELEASE_LUA } from './seed-lua';

/**
 * The seed's approach: `EVAL` with the script text on every call, scores from the client's
 * clock in seconds, the key's TTL set to this task's lease plus 60 s.
 */
export const seedKind: ContenderKind = {
  name: 'seed (EVAL)',
  create(client, gate, limit) {
    const key = `${SEED_KEY_PREFIX}${gate}`;
    const ttl = BENCH.leaseMs / 1000;
    return {
      name: this.name,
      clientCommands: ['eval'],
      async tryAcquire() {
        const taskId = randomUUID();
        const now = Math.floor(Date.now() / 1000);
        const admitted = await client.eval(
          SEED_ACQUIRE_LUA,
          1,
          key,
          now,
          limit,
          now + ttl,
          taskId,
          ttl + 60,
        );
        return admitted === 1 ? () => client.eval(SEED_RELEASE_LUA, 1, key, taskId) : null;
      },
      reset: () => client.del(key),
    };
  },
};
