import type { Cluster, Redis } from 'ioredis';
import { ACQUIRE_LUA } from './scripts/acquire.lua';
import { EXTEND_LUA } from './scripts/extend.lua';
import { HOLDERS_LUA } from './scripts/holders.lua';
import { RECONCILE_LUA } from './scripts/reconcile.lua';
import { USAGE_LUA } from './scripts/usage.lua';

/** The gate's scripts as ioredis commands (EVALSHA, with EVAL once after a NOSCRIPT). */
export interface GateScriptCommands {
  queueGateAcquire(key: string, holder: string, limit: number, leaseMs: number): Promise<number[]>;
  queueGateExtend(key: string, holder: string, leaseMs: number): Promise<number[]>;
  queueGateUsage(key: string): Promise<number[]>;
  queueGateHolders(key: string): Promise<[number, string[]]>;
  queueGateReconcile(
    key: string,
    leaseMs: number,
    activeCount: number,
    ...activeThenRemovable: string[]
  ): Promise<number[]>;
}

/** A client that carries the gate's commands. */
export type GateRedisClient = (Redis | Cluster) & GateScriptCommands;

const SCRIPTS: Record<keyof GateScriptCommands, string> = {
  queueGateAcquire: ACQUIRE_LUA,
  queueGateExtend: EXTEND_LUA,
  queueGateUsage: USAGE_LUA,
  queueGateHolders: HOLDERS_LUA,
  queueGateReconcile: RECONCILE_LUA,
};

/**
 * Registers the gate's scripts on a client. Registering is local to the client object (ioredis
 * loads a script into Redis on its first NOSCRIPT), so it is cheap and safe to repeat.
 */
export function defineGateScripts(client: Redis | Cluster): GateRedisClient {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys: 1, lua });
  }
  return client as GateRedisClient;
}
