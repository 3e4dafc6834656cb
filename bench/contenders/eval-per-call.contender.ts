import { randomUUID } from 'node:crypto';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';
import {
  EVAL_PER_CALL_ACQUIRE_LUA,
  EVAL_PER_CALL_KEY_PREFIX,
  EVAL_PER_CALL_RELEASE_LUA,
} from './eval-per-call-lua';

/**
 * A gate as simple Lua gates are written: `EVAL` with the script text on every call, scores from the client's
 * clock in seconds, the key's TTL set to this task's lease plus 60 s.
 */
export const evalPerCallKind: ContenderKind = {
  name: 'EVAL per call, client clock',
  create(client, gate, limit) {
    const key = `${EVAL_PER_CALL_KEY_PREFIX}${gate}`;
    const ttl = BENCH.leaseMs / 1000;
    return {
      name: this.name,
      clientCommands: ['eval'],
      async tryAcquire() {
        const taskId = randomUUID();
        const now = Math.floor(Date.now() / 1000);
        const admitted = await client.eval(
          EVAL_PER_CALL_ACQUIRE_LUA,
          1,
          key,
          now,
          limit,
          now + ttl,
          taskId,
          ttl + 60,
        );
        return admitted === 1 ? () => client.eval(EVAL_PER_CALL_RELEASE_LUA, 1, key, taskId) : null;
      },
      reset: () => client.del(key),
    };
  },
};
