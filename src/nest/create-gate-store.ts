import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX } from '../store/redis/gate-key';
import { MissingDependencyError } from './errors/missing-dependency.error';
import { MissingGateStoreError } from './errors/missing-gate-store.error';
import type { GateStore } from '../core/gate-store';
import { MemoryGateStore } from '../store/memory/memory-gate-store';
import { redactUrl } from '../store/redis/redact-url';
import { RedisGateStore } from '../store/redis/redis-gate-store';
import { optionalRequire } from './optional-require';
import type { QueueGateModuleOptions } from './queue-gate.options';

/** The store a module uses, and the Redis client it opened (and must close), if any. */
export interface GateStoreHandle {
  store: GateStore;
  ownedClient?: Redis | Cluster;
  /** Where the store lives, for the boot log. */
  description: string;
}

/** What the module needs of `@liaoliaots/nestjs-redis`'s RedisService and ClusterService. */
export interface NamespacedClients {
  getOrNil(namespace?: string): Redis | Cluster | null;
}

export const NESTJS_REDIS = '@liaoliaots/nestjs-redis';

/** Client defaults when the module opens the connection itself. */
const OWNED_CLIENT_DEFAULTS = {
  // Fail at once while disconnected instead of queueing behind a reconnect: the gate answers
  // 503 promptly and queued releases are retried by the gate itself.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // Connect in onModuleInit, not at construction: a boot that fails before then runs no
  // shutdown hook, and an open connection would keep the process alive.
  lazyConnect: true,
};

/**
 * Picks the store from the options, in this order: a custom store, `store: 'memory'`,
 * `redis.client`, `redis.namespace`, `redis.url`/`redis.options`, and with no `redis` option the
 * default namespace of RedisModule when present. Throws {@link MissingGateStoreError} when none.
 */
export function createGateStore(
  options: QueueGateModuleOptions,
  namespaced: readonly (NamespacedClients | undefined)[],
): GateStoreHandle {
  const { store, redis, keyPrefix = DEFAULT_KEY_PREFIX } = options;
  if (typeof store === 'object') return { store, description: 'a custom store' };
  if (store === 'memory')
    return { store: new MemoryGateStore(), description: 'memory (one process)' };
  if (redis?.client) {
    return {
      store: new RedisGateStore(redis.client, keyPrefix),
      description: 'Redis (your client)',
    };
  }
  if (redis?.namespace !== undefined) {
    const client = fromNamespace(redis.namespace, namespaced);
    return {
      store: new RedisGateStore(client, keyPrefix),
      description: `Redis (${NESTJS_REDIS} namespace "${redis.namespace}")`,
    };
  }
  if (redis?.url !== undefined || redis?.options !== undefined) {
    const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
    const clientOptions = { ...OWNED_CLIENT_DEFAULTS, ...redis.options };
    const client = redis.url
      ? new RedisClient(redis.url, clientOptions)
      : new RedisClient(clientOptions);
    return {
      store: new RedisGateStore(client, keyPrefix),
      ownedClient: client,
      description: `Redis (${redis.url ? redactUrl(redis.url) : 'client options'})`,
    };
  }
  const fallback = namespaced.map((clients) => clients?.getOrNil()).find(Boolean);
  if (fallback) {
    return {
      store: new RedisGateStore(fallback, keyPrefix),
      description: `Redis (${NESTJS_REDIS} default namespace)`,
    };
  }
  throw new MissingGateStoreError(
    store === 'redis'
      ? "store is 'redis' but no Redis connection was given"
      : 'no store option was given',
  );
}

function fromNamespace(
  namespace: string,
  namespaced: readonly (NamespacedClients | undefined)[],
): Redis | Cluster {
  const services = namespaced.filter((clients) => clients !== undefined);
  if (services.length === 0) {
    throw new MissingDependencyError(
      NESTJS_REDIS,
      `redis: { namespace: "${namespace}" }`,
      optionalRequire(NESTJS_REDIS)
        ? 'import RedisModule.forRoot(...) (or ClusterModule) in your application'
        : `install it (npm install ${NESTJS_REDIS}) and import RedisModule.forRoot(...)`,
    );
  }
  const client = services.map((clients) => clients.getOrNil(namespace)).find(Boolean);
  if (!client) {
    throw new MissingGateStoreError(`RedisModule has no client in namespace "${namespace}"`);
  }
  return client;
}
