import type { Cluster, Redis } from 'ioredis';
import { ACQUIRE_LUA } from './scripts/acquire.lua';
import { EXTEND_LUA } from './scripts/extend.lua';
import { HOLDERS_LUA } from './scripts/holders.lua';
import { RECONCILE_LUA } from './scripts/reconcile.lua';
import { RELEASE_LUA } from './scripts/release.lua';
import { USAGE_LUA } from './scripts/usage.lua';

/** How a release is fenced: to nothing, a token, or the attempt of one acquire call. */
export type ReleaseFenceKind = '' | 'token' | 'attempt';

/**
 * The gate's scripts as ioredis commands (EVALSHA, with EVAL once after a NOSCRIPT). All but
 * usage take the gate's two keys: its holders and its tokens.
 */
export interface GateScriptCommands {
  queueGateAcquire(
    key: string,
    tokens: string,
    holder: string,
    limit: number,
    leaseMs: number,
    attempt: string,
    renew: '0' | '1',
  ): Promise<number[]>;
  queueGateRelease(
    key: string,
    tokens: string,
    holder: string,
    fence: ReleaseFenceKind,
    fencedTo: string,
  ): Promise<number[]>;
  queueGateExtend(
    key: string,
    tokens: string,
    holder: string,
    leaseMs: number,
    token: string,
  ): Promise<number[]>;
  queueGateUsage(key: string): Promise<number[]>;
  queueGateHolders(key: string, tokens: string): Promise<[number, (string | number)[]]>;
  queueGateReconcile(
    key: string,
    tokens: string,
    leaseMs: number,
    sparedPrefix: string,
    activeCount: number,
    ...activeThenRemovable: string[]
  ): Promise<number[]>;
}

/** A client that carries the gate's commands. */
export type GateRedisClient = (Redis | Cluster) & GateScriptCommands;

const SCRIPTS: Record<keyof GateScriptCommands, { lua: string; numberOfKeys: number }> = {
  queueGateAcquire: { lua: ACQUIRE_LUA, numberOfKeys: 2 },
  queueGateRelease: { lua: RELEASE_LUA, numberOfKeys: 2 },
  queueGateExtend: { lua: EXTEND_LUA, numberOfKeys: 2 },
  queueGateUsage: { lua: USAGE_LUA, numberOfKeys: 1 },
  queueGateHolders: { lua: HOLDERS_LUA, numberOfKeys: 2 },
  queueGateReconcile: { lua: RECONCILE_LUA, numberOfKeys: 2 },
};

/**
 * Registers the gate's scripts on a client. Registering is local to the client object (ioredis
 * loads a script into Redis on its first NOSCRIPT), so it is cheap and safe to repeat.
 */
export function defineGateScripts(client: Redis | Cluster): GateRedisClient {
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
  return client as GateRedisClient;
}
