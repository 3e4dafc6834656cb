import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, gateKey, gateTokensKey } from './gate-key';
import type {
  AcquireReply,
  AcquireRequest,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  ReleaseReply,
  ReleaseRequest,
  UsageReply,
} from '../../core/gate-store';
import { defineGateScripts, type GateRedisClient } from './gate-scripts';

/**
 * The gate in Redis: per gate, a sorted set of holders at `<keyPrefix>{<gate>}` scored by lease
 * end, and a hash of their fencing tokens at `<keyPrefix>{<gate>}:tokens`; one script per
 * decision. Both keys share the gate's hash tag, so this works with a standalone, Sentinel or
 * Cluster ioredis client. The client's own `keyPrefix` option, if any, is applied on top.
 */
export class RedisGateStore implements GateStore {
  private readonly client: GateRedisClient;

  constructor(
    client: Redis | Cluster,
    private readonly keyPrefix: string = DEFAULT_KEY_PREFIX,
  ) {
    this.client = defineGateScripts(client);
  }

  /** The Redis key of a gate's holders. */
  keyOf(gate: string): string {
    return gateKey(this.keyPrefix, gate);
  }

  /** The Redis key of a gate's tokens. */
  tokensKeyOf(gate: string): string {
    return gateTokensKey(this.keyPrefix, gate);
  }

  async acquire(request: AcquireRequest): Promise<AcquireReply> {
    const { gate, holder, limit, leaseMs, attempt, renew } = request;
    const reply = await this.client.queueGateAcquire(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      holder,
      limit ?? 0,
      leaseMs,
      attempt,
      renew ? '1' : '0',
    );
    const [admitted, alreadyHeld, used, reclaimed, expiresAt, now, token] = reply;
    return {
      admitted: admitted === 1,
      alreadyHeld: alreadyHeld === 1,
      used,
      reclaimed,
      expiresAt: admitted === 1 ? expiresAt : null,
      now,
      token: admitted === 1 ? token : null,
    };
  }

  async release({ gate, holder, fence }: ReleaseRequest): Promise<ReleaseReply> {
    const [kind, fencedTo] =
      fence === undefined
        ? (['', ''] as const)
        : 'token' in fence
          ? (['token', String(fence.token)] as const)
          : (['attempt', fence.attempt] as const);
    const [released, stale, currentToken] = await this.client.queueGateRelease(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      holder,
      kind,
      fencedTo,
    );
    return {
      released: released === 1,
      stale: stale === 1,
      currentToken: stale ? currentToken : null,
    };
  }

  async extend({ gate, holder, leaseMs, token }: ExtendRequest): Promise<ExtendReply> {
    const reply = await this.client.queueGateExtend(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      holder,
      leaseMs,
      token === undefined ? '' : String(token),
    );
    const [extended, expiresAt, now, stale, currentToken] = reply;
    return {
      extended: extended === 1,
      expiresAt: extended === 1 ? expiresAt : null,
      now,
      stale: stale === 1,
      currentToken: currentToken === 0 ? null : currentToken,
    };
  }

  async usage(gate: string): Promise<UsageReply> {
    const [used, now] = await this.client.queueGateUsage(this.keyOf(gate));
    return { used, now };
  }

  async holders(gate: string): Promise<HoldersReply> {
    const [now, flat] = await this.client.queueGateHolders(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
    );
    const holders = [];
    for (let i = 0; i < flat.length; i += 3) {
      holders.push({
        holder: String(flat[i]),
        expiresAt: Number(flat[i + 1]),
        token: Number(flat[i + 2]),
      });
    }
    return { holders, now };
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileReply> {
    const { gate, holders, leaseMs, removable, sparedPrefix = '' } = request;
    const listed = removable
      ? [
          'listed',
          ...removable.flatMap((r) => [r.holder, r.token === undefined ? '' : String(r.token)]),
        ]
      : ['all'];
    const [added, removed, used] = await this.client.queueGateReconcile(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      leaseMs,
      sparedPrefix,
      holders.length,
      ...holders,
      ...listed,
    );
    return { added, removed, used };
  }
}
