import { Redis } from 'ioredis';
import { type QueueGateModuleOptions, RedisGateStore } from '../../src';
import { brokenStore } from './broken-store';
import {
  COMMAND_TIMEOUT_MS,
  GATE_LIMITS,
  GATE_PREFIX,
  LEASE,
  PENDING_RELEASES,
  type RunSettings,
  WAITER_LEASE_MS,
} from './config';

/** A process's gate options, and the Redis client it must close itself (if it made one). */
export interface GateSetup {
  options: QueueGateModuleOptions;
  ownClient: Redis | undefined;
}

/**
 * The gate of one process. The two instances of each kind connect differently, as real
 * deployments do: instance 0 gives a URL (the module's own client: fail-fast, no offline
 * queue), instance 1 gives its own ioredis client with ioredis' defaults, whose offline queue
 * and resend of unanswered commands replay gate calls after a reconnect — the calls the gate
 * must undo when their answer was lost. The negative control's API apps use the broken store.
 */
export function gateSetup(run: RunSettings, label: string, broken: boolean): GateSetup {
  const common: QueueGateModuleOptions = {
    keyPrefix: GATE_PREFIX,
    limits: GATE_LIMITS,
    lease: LEASE,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    pendingReleases: PENDING_RELEASES,
    waiting: { waiterLeaseMs: WAITER_LEASE_MS },
  };
  if (broken) {
    const client = new Redis(run.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    return {
      options: { ...common, store: brokenStore(new RedisGateStore(client, GATE_PREFIX)) },
      ownClient: client,
    };
  }
  if (label.includes('-0'))
    return { options: { ...common, redis: { url: run.redisUrl } }, ownClient: undefined };
  const client = new Redis(run.redisUrl);
  client.on('error', () => undefined); // reconnects by itself
  return { options: { ...common, redis: { client } }, ownClient: client };
}
