import { Semaphore } from 'redis-semaphore';
import { BENCH } from '../config';
import type { ContenderKind } from './contender';

/**
 * `redis-semaphore`'s Semaphore, one instance per acquire as its API intends, trying once:
 * `acquireTimeout: 0` would never try (its loop runs while `now < start + acquireTimeout`), so
 * the default timeout stays and `acquireAttemptsLimit: 1` stops after the first attempt.
 * `retryInterval: 0` shortens the pause it still takes after a refused last attempt (a
 * `setTimeout(0)`, which remains). `refreshInterval: 0` turns off its per-lock refresh timer,
 * as our acquire has no keep-alive either.
 */
export const redisSemaphoreKind: ContenderKind = {
  name: 'redis-semaphore',
  create(client, gate, limit) {
    const options = {
      lockTimeout: BENCH.leaseMs,
      acquireAttemptsLimit: 1,
      retryInterval: 0,
      refreshInterval: 0,
    };
    return {
      name: this.name,
      clientCommands: ['evalsha', 'eval', 'zrem'],
      async tryAcquire() {
        const semaphore = new Semaphore(client, gate, limit, options);
        return (await semaphore.tryAcquire()) ? () => semaphore.release() : null;
      },
      reset: () => client.del(`semaphore:${gate}`),
    };
  },
};
