import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, gateKey } from '../../core/gate-key';
import type {
  AcquireReply,
  AcquireRequest,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HolderRequest,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  ReleaseReply,
  UsageReply,
} from '../gate-store.interface';
import { defineGateScripts, type GateRedisClient } from './gate-scripts';

/**
 * The gate in Redis: one sorted set per gate at `<keyPrefix>{<gate>}`, one atomic step per
 * decision (a script, or a single ZREM for a release).
 * Works with a standalone, Sentinel or Cluster ioredis client; the client's own `keyPrefix`
 * option, if any, is applied on top.
 */
export class RedisGateStore implements GateStore {
  private readonly client: GateRedisClient;

  constructor(
    client: Redis | Cluster,
    private readonly keyPrefix: string = DEFAULT_KEY_PREFIX,
  ) {
    this.client = defineGateScripts(client);
  }

  /** The Redis key of a gate. */
  keyOf(gate: string): string {
    return gateKey(this.keyPrefix, gate);
  }

  async acquire({ gate, holder, limit, leaseMs }: AcquireRequest): Promise<AcquireReply> {
    const reply = await this.client.queueGateAcquire(this.keyOf(gate), holder, limit ?? 0, leaseMs);
    const [admitted, alreadyHeld, used, reclaimed, expiresAt, now] = reply;
    return {
      admitted: admitted === 1,
      alreadyHeld: alreadyHeld === 1,
      used,
      reclaimed,
      expiresAt: admitted === 1 ? expiresAt : null,
      now,
    };
  }

  async release({ gate, holder }: HolderRequest): Promise<ReleaseReply> {
    // One ZREM is atomic and idempotent on its own; a script around it only costs server time.
    // (A release that must check a fencing token will need a script again.)
    const released = await this.client.zrem(this.keyOf(gate), holder);
    return { released: released === 1 };
  }

  async extend({ gate, holder, leaseMs }: ExtendRequest): Promise<ExtendReply> {
    const reply = await this.client.queueGateExtend(this.keyOf(gate), holder, leaseMs);
    const [extended, expiresAt, now] = reply;
    return { extended: extended === 1, expiresAt: extended === 1 ? expiresAt : null, now };
  }

  async usage(gate: string): Promise<UsageReply> {
    const [used, now] = await this.client.queueGateUsage(this.keyOf(gate));
    return { used, now };
  }

  async holders(gate: string): Promise<HoldersReply> {
    const [now, flat] = await this.client.queueGateHolders(this.keyOf(gate));
    const holders = [];
    for (let i = 0; i < flat.length; i += 2) {
      holders.push({ holder: flat[i], expiresAt: Number(flat[i + 1]) });
    }
    return { holders, now };
  }

  async reconcile({
    gate,
    holders,
    leaseMs,
    removable,
  }: ReconcileRequest): Promise<ReconcileReply> {
    const reply = await this.client.queueGateReconcile(
      this.keyOf(gate),
      leaseMs,
      holders.length,
      ...holders,
      ...(removable ? ['listed', ...removable] : ['all']),
    );
    const [added, removed, used] = reply;
    return { added, removed, used };
  }
}
