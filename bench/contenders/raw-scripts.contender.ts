import { randomUUID } from 'node:crypto';
import { DEFAULT_KEY_PREFIX, gateKey, gateTokensKey } from '../../src';
import { gateChannel, gateQueueKey } from '../../src/store/redis/gate-key';
import { defineGateScripts } from '../../src/store/redis/gate-scripts';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';

/**
 * The same Lua scripts with nothing around them: ioredis `defineCommand` (EVALSHA) called
 * directly. The gap between this and {@link queueGateKind} is the service's own cost. Like the
 * service's default acquire, it does not wait, has no tenant and costs 1 unit, so it calls the
 * acquire script's short form, as the store does for such a call.
 */
export const rawScriptsKind: ContenderKind = {
  name: 'raw scripts',
  create(client, gate, limit) {
    const scripts = defineGateScripts(client);
    const key = gateKey(DEFAULT_KEY_PREFIX, gate);
    const tokens = gateTokensKey(DEFAULT_KEY_PREFIX, gate);
    const queue = gateQueueKey(DEFAULT_KEY_PREFIX, gate);
    const channel = gateChannel(DEFAULT_KEY_PREFIX, gate);
    return {
      name: this.name,
      clientCommands: ['evalsha', 'eval'],
      async tryAcquire() {
        const holder = randomUUID();
        const reply = await scripts.queueGateAcquire(
          key,
          tokens,
          queue,
          holder,
          limit,
          BENCH.leaseMs,
          holder.slice(0, 8),
          channel,
          'PUBLISH',
        );
        const { admitted, token } = readAcquire(reply);
        return admitted
          ? () =>
              scripts.queueGateRelease(
                key,
                tokens,
                queue,
                holder,
                'token',
                token,
                channel,
                'PUBLISH',
              )
          : null;
      },
      reset: () => client.del(key, tokens, queue),
    };
  },
};

/**
 * Whether the acquire admitted, and its fencing token: the short form's common path answers
 * `<admitted>:<used>:<expiresAt>:<now>:<token>`, any other path an array (token at index 6).
 */
function readAcquire(reply: number[] | string): { admitted: boolean; token: string } {
  if (typeof reply === 'string') {
    const fields = reply.split(':');
    return { admitted: fields[0] === '1', token: fields[4] };
  }
  return { admitted: reply[0] === 1, token: String(reply[6]) };
}
