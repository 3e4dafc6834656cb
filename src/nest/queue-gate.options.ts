import type { ExecutionContext, ModuleMetadata, Type } from '@nestjs/common';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { LeasePolicy } from '../core/lease-policy';
import type { GateLimit, LimitSource } from '../core/limit-source';
import type { PendingReleaseOptions } from '../core/pending-release-queue';
import type { GateStore } from '../core/gate-store';
import type { GateObserver } from '../core/gate-observer';
import type { GateMetricsOptions } from '../otel/gate-metrics.options';
import type { DurabilityOptions, WaitingOptions } from '../core/queue-gate';
import type { QueueGateEventNames } from './task-lifecycle.events';

/** Where the Redis store gets its connection; give exactly one of the three sources. */
export interface QueueGateRedisOptions {
  /** An ioredis `Redis` or `Cluster` you own; the module never closes it. */
  client?: Redis | Cluster;
  /** A namespace of `@liaoliaots/nestjs-redis`'s RedisModule (or ClusterModule). */
  namespace?: string;
  /** A Redis URL; the module opens the client and closes it on shutdown. */
  url?: string;
  /** ioredis options (with or without `url`); the module opens and closes the client. */
  options?: RedisOptions;
}

/** When a slot taken by `@QueueLimited` is given back after a successful response. */
export type SlotRelease = 'event' | 'response';

/** Options of `@QueueLimited`, also settable module-wide under `queueLimited`. */
export interface QueueLimitedOptions {
  /** Limit for this route, overriding the module's limits. 0 or null: unlimited. */
  limit?: GateLimit;
  /** Expected task duration in seconds, for the lease. */
  expectedSeconds?: number;
  /**
   * `'event'` (default): after a successful response the slot stays held until the task ends
   * (lifecycle event or `QueueGateService.release`). `'response'`: released when the response
   * ends, for streams and long synchronous calls.
   */
  release?: SlotRelease;
  /** `Retry-After` seconds on 429 and 503 answers. Default 1. */
  retryAfterSeconds?: number;
  /** Admit requests untracked when the gate cannot be reached. Default false (503). */
  failOpen?: boolean;
  /** Send the `RateLimit` and `RateLimit-Policy` headers. Default true. */
  headers?: boolean;
  /**
   * The holder id of the request's slot. Default: a UUID made on the server. Never return an
   * id taken unchecked from the client: whoever can name another task's id can share or free
   * its slot.
   */
  taskId?: (context: ExecutionContext) => string | Promise<string>;
  /**
   * Seconds a request waits for a slot when the gate is full, served in arrival order across
   * every instance; 429 when it runs out. A client that disconnects leaves the queue at once.
   * Default 0: 429 at once.
   */
  waitSeconds?: number;
  /**
   * The tenant the request counts for, against the model's `perTenant` share (from the
   * `limits` option); `undefined` for none.
   */
  tenant?: (context: ExecutionContext) => string | undefined | Promise<string | undefined>;
  /** Units of the model's limit the request's task takes (an integer ≥ 1). Default 1. */
  cost?: number | ((context: ExecutionContext) => number | Promise<number>);
}

/** Periodic rebuild of gates from the application's own record of active tasks. */
export interface ScheduledReconcileOptions {
  /** Seconds between rounds. */
  everySeconds: number;
  /** The models to reconcile, or a function that lists them. */
  models: readonly string[] | (() => readonly string[] | Promise<readonly string[]>);
  /** The ids of the model's tasks that are queued or running, from the source of truth. */
  activeTaskIds: (model: string) => readonly string[] | Promise<readonly string[]>;
}

/** Options of `QueueGateModule.forRoot` (and the result of `forRootAsync`'s factory). */
export interface QueueGateModuleOptions {
  /**
   * `'redis'` (default when a Redis source is given), `'memory'` (one process only), or your
   * own {@link GateStore}.
   */
  store?: 'redis' | 'memory' | GateStore;
  /** The Redis connection of the Redis store. */
  redis?: QueueGateRedisOptions;
  /** Prefix of every gate key; keys are `<keyPrefix>{<model>}`. Default `'qgate:'`. */
  keyPrefix?: string;
  /**
   * Per-model limits: a map, or a (possibly async) function of the model name. An entry is a
   * limit, or `{ limit, perTenant }` to also cap each tenant's share.
   */
  limits?: LimitSource;
  /** Limit of models that `limits` does not name. Default: unlimited. */
  defaultLimit?: GateLimit;
  /** Lease policy. Defaults: multiplier 10, minSeconds 3600, maxSeconds 86400. */
  lease?: Partial<LeasePolicy>;
  /** Longest wait for one Redis call before it fails as unavailable, in ms. Default 2000. */
  commandTimeoutMs?: number;
  /** Retry queue of releases that could not reach Redis. */
  pendingReleases?: Partial<PendingReleaseOptions>;
  /** Module-wide defaults of `@QueueLimited` options. */
  queueLimited?: Omit<QueueLimitedOptions, 'limit' | 'taskId'>;
  /**
   * Task lifecycle event names (needs `@nestjs/event-emitter`), or false to not listen. By
   * default the module listens when an `EventEmitterModule` is present.
   */
  events?: false | Partial<QueueGateEventNames>;
  /** Rebuild gates from the application's database on a schedule. */
  reconcile?: ScheduledReconcileOptions;
  /** Longest time shutdown spends delivering queued releases, in ms. Default 5000. */
  shutdownTimeoutMs?: number;
  /** Tuning of waiting acquires (`waitSeconds`, `waitMs`). */
  waiting?: WaitingOptions;
  /**
   * Answer an admission only once this many replicas hold it (`WAIT`), so that it survives a
   * failover; off by default. See `DurabilityOptions`.
   */
  durability?: DurabilityOptions;
  /**
   * Check the store at boot and log what it is and what risks it carries; boot fails
   * (`UnfitGateStoreError`) when the gate cannot work strictly on it. Default true.
   */
  doctor?: boolean;
  /**
   * Receive every acquire and release, synchronously on the gate's path (live dashboards,
   * custom metrics); see `GateObserver`.
   */
  observers?: readonly GateObserver[];
  /**
   * Record OpenTelemetry metrics through `@opentelemetry/api` (an optional peer: install it and
   * an SDK); `true` or the meter's options. Off by default. See docs/OPERATING.md.
   */
  metrics?: boolean | GateMetricsOptions;
}

/** A class that makes the module options, for `forRootAsync({ useClass | useExisting })`. */
export interface QueueGateOptionsFactory {
  /** Makes the module options (checked at boot, like `forRoot`'s). */
  createQueueGateOptions(): QueueGateModuleOptions | Promise<QueueGateModuleOptions>;
}

/** Options of `QueueGateModule.forRootAsync`. */
export interface QueueGateModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Register the module globally. Default false. */
  isGlobal?: boolean;
  /** Makes the module options from the providers named in `inject`. */
  useFactory?: (...args: any[]) => QueueGateModuleOptions | Promise<QueueGateModuleOptions>;
  /** Providers passed to `useFactory`, in order. Default none. */
  inject?: any[];
  /** A class the module instantiates to make the options. */
  useClass?: Type<QueueGateOptionsFactory>;
  /** A provider already available (through `imports`) that makes the options. */
  useExisting?: Type<QueueGateOptionsFactory>;
}
