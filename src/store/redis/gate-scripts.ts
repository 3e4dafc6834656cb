import type { Cluster, Redis } from 'ioredis';
import { ACQUIRE_LUA } from './scripts/acquire.lua';
import { EXTEND_LUA } from './scripts/extend.lua';
import { HEARTBEAT_LUA } from './scripts/heartbeat.lua';
import { HOLDERS_LUA } from './scripts/holders.lua';
import { LEAVE_LUA } from './scripts/leave.lua';
import { RECONCILE_LUA } from './scripts/reconcile.lua';
import { RELEASE_LUA } from './scripts/release.lua';
import { SNAPSHOT_LUA } from './scripts/snapshot.lua';
import { USAGE_LUA } from './scripts/usage.lua';

/** How a release is fenced: to nothing, a token, or the attempt of one acquire call. */
export type ReleaseFenceKind = '' | 'token' | 'attempt';

/** The command a script announces admissions with: classic or sharded (Cluster) pub/sub. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/**
 * The gate's scripts as ioredis commands (EVALSHA, with EVAL once after a NOSCRIPT). Keys come
 * first: the gate's holders, its book and, for scripts that may hand units to waiters, its
 * queue.
 */
export interface GateScriptCommands {
  /** The full form: a retry, a weighted or tenant's task, or one that may wait. */
  queueGateAcquire(...args: FullAcquireArguments): Promise<number[]>;
  /**
   * The short form of a plain acquire: no retry, cost 1, no tenant, no waiting. Its common path
   * answers one string, `<admitted>:<used>:<expiresAt>:<now>:<token>`.
   */
  queueGateAcquire(...args: ShortAcquireArguments): Promise<number[] | string>;
  queueGateRelease(
    key: string,
    book: string,
    queue: string,
    holder: string,
    fence: ReleaseFenceKind,
    fencedTo: string,
    channel: string,
    publish: PublishCommand,
  ): Promise<number[] | number>;
  queueGateExtend(
    key: string,
    book: string,
    holder: string,
    leaseMs: number,
    token: string,
  ): Promise<number[]>;
  queueGateUsage(key: string, book: string, tenant: string): Promise<number[]>;
  queueGateHolders(key: string, book: string): Promise<[number, (string | number)[]]>;
  queueGateSnapshot(key: string, book: string): Promise<number[]>;
  queueGateReconcile(
    key: string,
    book: string,
    queue: string,
    channel: string,
    publish: PublishCommand,
    leaseMs: number,
    sparedPrefix: string,
    activeCount: number,
    ...activeThenRemovable: string[]
  ): Promise<number[]>;
  queueGateHeartbeat(
    key: string,
    book: string,
    queue: string,
    waiterLeaseMs: number,
    channel: string,
    publish: PublishCommand,
    ...holderAttemptPairs: string[]
  ): Promise<(number | string)[]>;
  queueGateLeave(
    key: string,
    book: string,
    queue: string,
    holder: string,
    attempt: string,
    channel: string,
    publish: PublishCommand,
  ): Promise<(number | string)[]>;
}

/** The acquire script's arguments in full: a retry, a weighted or tenant's task, or a wait. */
type FullAcquireArguments = [
  key: string,
  book: string,
  queue: string,
  holder: string,
  limit: number,
  leaseMs: number,
  attempt: string,
  renew: '0' | '1',
  cost: number,
  tenant: string,
  perTenant: number,
  waiterLeaseMs: number,
  channel: string,
  publish: PublishCommand,
];

/** The acquire script's short form, for a plain acquire. */
type ShortAcquireArguments = [
  key: string,
  book: string,
  queue: string,
  holder: string,
  limit: number,
  leaseMs: number,
  attempt: string,
  channel: string,
  publish: PublishCommand,
];

/** The arguments of the acquire script, in either of its forms. */
export type AcquireScriptArguments = FullAcquireArguments | ShortAcquireArguments;

/** A pipeline that carries the acquire script, and `WAIT` after it. */
export interface GateScriptPipeline {
  queueGateAcquire(...args: AcquireScriptArguments): this;
  wait(replicas: number, timeoutMs: number): this;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** A client that carries the gate's commands. */
export type GateRedisClient = (Redis | Cluster) & GateScriptCommands;

const SCRIPTS: Record<keyof GateScriptCommands, { lua: string; numberOfKeys: number }> = {
  queueGateAcquire: { lua: ACQUIRE_LUA, numberOfKeys: 3 },
  queueGateRelease: { lua: RELEASE_LUA, numberOfKeys: 3 },
  queueGateExtend: { lua: EXTEND_LUA, numberOfKeys: 2 },
  queueGateUsage: { lua: USAGE_LUA, numberOfKeys: 2 },
  queueGateHolders: { lua: HOLDERS_LUA, numberOfKeys: 2 },
  queueGateSnapshot: { lua: SNAPSHOT_LUA, numberOfKeys: 2 },
  queueGateReconcile: { lua: RECONCILE_LUA, numberOfKeys: 3 },
  queueGateHeartbeat: { lua: HEARTBEAT_LUA, numberOfKeys: 3 },
  queueGateLeave: { lua: LEAVE_LUA, numberOfKeys: 3 },
};

/**
 * Registers the gate's scripts on a client. Registering is local to the client object (ioredis
 * loads a script into Redis on its first NOSCRIPT), so it is cheap and safe to repeat.
 */
export function defineGateScripts(client: Redis | Cluster): GateRedisClient {
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
  return client as GateRedisClient;
}
