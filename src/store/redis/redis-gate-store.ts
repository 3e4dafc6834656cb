import { type Cluster, type Redis, ReplyError } from 'ioredis';
import { AdmissionSubscriber } from './admission-subscriber';
import { isCluster } from './cluster-client';
import { DEFAULT_KEY_PREFIX, gateChannel, gateKey, gateQueueKey, gateTokensKey } from './gate-key';
import type {
  AcquireReply,
  AcquireRequest,
  AdmissionListener,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HeartbeatRequest,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  RefusedBy,
  ReleaseReply,
  ReleaseRequest,
  GateStateSnapshot,
  SnapshotReply,
  SnapshotRequest,
  UsageReply,
  WaiterRequest,
  WaiterState,
} from '../../core/gate-store';
import { StoreRefusal } from '../../core/gate-store';
import {
  defineGateScripts,
  type GateRedisClient,
  type AcquireScriptArguments,
  type GateScriptPipeline,
  type PublishCommand,
  type ReleaseFenceKind,
} from './gate-scripts';
import type { DoctorFinding } from '../../core/doctor';
import { diagnoseRedis } from './redis-doctor';

/** The gate the doctor reads to check access to the key prefix; reading it changes nothing. */
const DOCTOR_PROBE_GATE = 'queue-gate-doctor';

/** Options of a {@link RedisGateStore} beyond its client and key prefix. */
export interface RedisGateStoreOptions {
  /**
   * Announce admissions handed to waiters by sharded pub/sub (`SPUBLISH`, Redis 7+), which
   * keeps a gate's messages on its shard. Default: true for a Cluster client, else false.
   */
  shardedPubSub?: boolean;
}

const REFUSED_BY: Record<number, RefusedBy | null> = { 0: null, 1: 'model', 2: 'tenant' };

/** Gates whose key names a store keeps made. */
const MAX_NAMED_GATES = 10_000;

/** A gate's holders, book, queue and channel names. */
interface GateNames {
  key: string;
  tokens: string;
  queue: string;
  channel: string;
}

/**
 * The gate in Redis, one script per decision. Per gate, in one hash slot (the model is the hash
 * tag): the holders at `<keyPrefix>{<gate>}`, a sorted set scored by lease end; its book at
 * `<keyPrefix>{<gate>}:tokens` (admissions with their fencing tokens, unit counters, waiters);
 * its queue of waiters at `<keyPrefix>{<gate>}:queue`; and the channel
 * `<keyPrefix>{<gate>}:admitted` that announces admissions handed to waiters. Works with a
 * standalone, Sentinel or Cluster ioredis client; the client's own `keyPrefix` option, if any,
 * is applied on top of the keys (not of the channel).
 */
export class RedisGateStore implements GateStore {
  private readonly client: GateRedisClient;
  private readonly publish: PublishCommand;
  private readonly subscriber: AdmissionSubscriber;
  private readonly names = new Map<string, GateNames>();

  constructor(
    client: Redis | Cluster,
    private readonly keyPrefix: string = DEFAULT_KEY_PREFIX,
    options: RedisGateStoreOptions = {},
  ) {
    this.client = defineGateScripts(client);
    const sharded = options.shardedPubSub ?? isCluster(client);
    this.publish = sharded ? 'SPUBLISH' : 'PUBLISH';
    this.subscriber = new AdmissionSubscriber(client, sharded);
  }

  /**
   * A gate's key names, made once: every call of a gate sends the same four names, and a name
   * joined anew on each call is a new string to build and to copy into one piece when written
   * (V8 keeps a joined string as its parts until it is read whole).
   */
  private namesOf(gate: string): GateNames {
    let names = this.names.get(gate);
    if (names) return names;
    // Gates are few; a flood of one-off names only restarts the table, never grows it past this.
    if (this.names.size >= MAX_NAMED_GATES) this.names.clear();
    names = {
      key: gateKey(this.keyPrefix, gate),
      tokens: gateTokensKey(this.keyPrefix, gate),
      queue: gateQueueKey(this.keyPrefix, gate),
      channel: gateChannel(this.keyPrefix, gate),
    };
    this.names.set(gate, names);
    return names;
  }

  /** The Redis key of a gate's holders. */
  keyOf(gate: string): string {
    return this.namesOf(gate).key;
  }

  /** The Redis key of a gate's book (admissions, tokens, counters, waiters). */
  tokensKeyOf(gate: string): string {
    return this.namesOf(gate).tokens;
  }

  /** The Redis key of a gate's queue of waiters. */
  queueKeyOf(gate: string): string {
    return this.namesOf(gate).queue;
  }

  /** The channel that announces admissions handed to a gate's waiters. */
  channelOf(gate: string): string {
    return this.namesOf(gate).channel;
  }

  acquire(request: AcquireRequest): Promise<AcquireReply> {
    // One promise per call on the common path: the acquire is the hot path of every request.
    if (request.durability) {
      return this.acquireReplicated(request, request.durability).catch(refusalOf);
    }
    const args = this.acquireArguments(request);
    // Two spellings of one call, one per argument form, so that each type-checks.
    const reply =
      args.length === 9
        ? this.client.queueGateAcquire(...args)
        : this.client.queueGateAcquire(...args);
    return reply.then(acquireReplyOf, refusalOf);
  }

  private async acquireReplicated(
    request: AcquireRequest,
    durability: NonNullable<AcquireRequest['durability']>,
  ): Promise<AcquireReply> {
    // WAIT right behind the script on the same connection (on a Cluster, the pipeline goes to
    // the gate's node), so it waits for exactly the writes this script made, in one round trip.
    const pipeline = this.client.pipeline() as unknown as GateScriptPipeline;
    pipeline.queueGateAcquire(...this.acquireArguments(request));
    pipeline.wait(durability.replicas, durability.timeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const [[scriptError, reply], [waitError, replicated]] = results as [
      [Error | null, number[] | string],
      [Error | null, number],
    ];
    if (scriptError) throw scriptError;
    // The script ran (it may have admitted): a failed WAIT is no refusal of the acquire.
    if (waitError) throw new Error(`WAIT after the acquire failed: ${waitError.message}`);
    return { ...acquireReplyOf(reply), replicated };
  }

  /**
   * The script's short form for a plain acquire (most calls): every argument Redis receives is a
   * Lua string the script pays for on each call, whether it uses it or not.
   */
  private acquireArguments(request: AcquireRequest): AcquireScriptArguments {
    const { gate, holder, limit, leaseMs, attempt, renew, cost = 1 } = request;
    const { tenant = '', waiterLeaseMs = 0 } = request;
    const perTenant = request.perTenant ?? 0;
    const keys = [this.keyOf(gate), this.tokensKeyOf(gate), this.queueKeyOf(gate)] as const;
    const channel = this.channelOf(gate);
    if (!renew && cost === 1 && tenant === '' && perTenant === 0 && waiterLeaseMs === 0) {
      return [...keys, holder, limit ?? 0, leaseMs, attempt, channel, this.publish];
    }
    return [
      ...keys,
      holder,
      limit ?? 0,
      leaseMs,
      attempt,
      renew ? '1' : '0',
      cost,
      tenant,
      perTenant,
      waiterLeaseMs,
      channel,
      this.publish,
    ];
  }

  release({ gate, holder, fence }: ReleaseRequest): Promise<ReleaseReply> {
    let kind: ReleaseFenceKind = '';
    let fencedTo = '';
    if (fence !== undefined) {
      if ('token' in fence) {
        kind = 'token';
        fencedTo = String(fence.token);
      } else {
        kind = 'attempt';
        fencedTo = fence.attempt;
      }
    }
    return this.client
      .queueGateRelease(
        this.keyOf(gate),
        this.tokensKeyOf(gate),
        this.queueKeyOf(gate),
        holder,
        kind,
        fencedTo,
        this.channelOf(gate),
        this.publish,
      )
      .then(releaseReplyOf);
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

  async usage(gate: string, tenant?: string): Promise<UsageReply> {
    const [used, now, holders, waiting, tenantUsed] = await this.client.queueGateUsage(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      tenant ?? '',
    );
    return { used, now, holders, waiting, tenantUsed };
  }

  async holders(gate: string): Promise<HoldersReply> {
    const [now, flat] = await this.client.queueGateHolders(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
    );
    const holders = [];
    for (let i = 0; i < flat.length; i += 5) {
      holders.push({
        holder: String(flat[i]),
        expiresAt: Number(flat[i + 1]),
        token: Number(flat[i + 2]),
        cost: Number(flat[i + 3]),
        tenant: flat[i + 4] === '' ? null : String(flat[i + 4]),
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
      this.queueKeyOf(gate),
      this.channelOf(gate),
      this.publish,
      leaseMs,
      sparedPrefix,
      holders.length,
      ...holders,
      ...listed,
    );
    return { added, removed, used };
  }

  async heartbeat({ gate, waiters, waiterLeaseMs }: HeartbeatRequest): Promise<WaiterState[]> {
    const flat = await this.client.queueGateHeartbeat(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      this.queueKeyOf(gate),
      waiterLeaseMs,
      this.channelOf(gate),
      this.publish,
      ...waiters.flatMap(({ holder, attempt }) => [holder, attempt]),
    );
    const states: WaiterState[] = [];
    for (let i = 0; i < flat.length; i += 4) states.push(waiterState(flat.slice(i, i + 4)));
    return states;
  }

  async leave({ gate, holder, attempt }: WaiterRequest): Promise<WaiterState> {
    const reply = await this.client.queueGateLeave(
      this.keyOf(gate),
      this.tokensKeyOf(gate),
      this.queueKeyOf(gate),
      holder,
      attempt,
      this.channelOf(gate),
      this.publish,
    );
    return waiterState(reply);
  }

  subscribe(gate: string, listener: AdmissionListener): Promise<() => Promise<void>> {
    return this.subscriber.listen(this.channelOf(gate), listener);
  }

  close(): Promise<void> {
    return this.subscriber.close();
  }

  diagnose(): Promise<DoctorFinding[]> {
    return diagnoseRedis(this.client, this.keyPrefix, () => this.usage(DOCTOR_PROBE_GATE));
  }

  /**
   * One `SCAN` step over the keys that look like a gate's holders (`<keyPrefix>{*}`: the
   * `:tokens` and `:queue` keys do not end in `}`), then one read-only script per key found,
   * which skips a key that is no sorted set. On a Cluster client every primary is scanned in
   * turn; the cursor is `<node index>:<node cursor>`, so one call scans one node once.
   */
  async snapshot({ cursor, count }: SnapshotRequest): Promise<SnapshotReply> {
    const nodes = this.scanNodes();
    const [nodeIndex, nodeCursor] = parseSnapshotCursor(cursor, nodes.length);
    const clientPrefix = this.clientKeyPrefix();
    // ioredis does not apply its keyPrefix to SCAN's pattern nor strip it from the keys found.
    const fullPrefix = clientPrefix + this.keyPrefix;
    const [next, keys] = await nodes[nodeIndex].scan(
      nodeCursor,
      'MATCH',
      `${escapeGlob(fullPrefix)}{*}`,
      'COUNT',
      count,
    );
    const models = [
      ...new Set(
        keys
          .filter((key) => key.startsWith(`${fullPrefix}{`) && key.endsWith('}'))
          .map((key) => key.slice(fullPrefix.length + 1, -1)),
      ),
    ];
    const read = await Promise.all(models.map((model) => this.snapshotOf(model)));
    const gates = read.filter((gate): gate is GateStateSnapshot => gate !== null);
    const nextCursor =
      next !== '0'
        ? `${nodeIndex}:${next}`
        : nodeIndex + 1 < nodes.length
          ? `${nodeIndex + 1}:0`
          : null;
    return { gates, cursor: nextCursor };
  }

  private async snapshotOf(gate: string): Promise<GateStateSnapshot | null> {
    const reply = await this.client.queueGateSnapshot(this.keyOf(gate), this.tokensKeyOf(gate));
    if (reply.length === 0) return null;
    const [now, used, holders, waiting, soonest, latest, ended, reclaimed] = reply;
    return {
      gate,
      used,
      holders,
      waiting,
      soonestLeaseEnd: soonest < 0 ? null : soonest,
      latestLeaseEnd: latest < 0 ? null : latest,
      ended,
      reclaimed,
      now,
    };
  }

  /** The servers to scan: every primary of a Cluster, in a stable order, else the client. */
  private scanNodes(): Redis[] {
    const client = this.client;
    if (!isCluster(client)) return [client];
    const name = (node: Redis) => `${node.options.host ?? ''}:${node.options.port ?? 0}`;
    const primaries = client.nodes('master').sort((a, b) => name(a).localeCompare(name(b)));
    if (primaries.length === 0) throw new Error('the Cluster client knows no primary yet');
    return primaries;
  }

  private clientKeyPrefix(): string {
    const client = this.client;
    const prefix = isCluster(client)
      ? client.options.redisOptions?.keyPrefix
      : client.options.keyPrefix;
    return prefix ?? '';
  }
}

/**
 * The acquire script's common-path answer, `<admitted>:<used>:<expiresAt>:<now>:<token>`, in the
 * layout of its full answer: not held before, nothing reclaimed, nobody queued, no tenant, and
 * refused by the model's limit when not admitted.
 */
/**
 * An acquire script's answer: its common path's `admitted:used:expiresAt:now:token` string
 * (a new admission or a refusal by the model's limit), or the full array.
 */
function acquireReplyOf(reply: number[] | string): AcquireReply {
  if (typeof reply === 'string') {
    const [admitted, used, expiresAt, now, token] = reply.split(':');
    const isAdmitted = admitted === '1';
    return {
      admitted: isAdmitted,
      alreadyHeld: false,
      used: Number(used),
      reclaimed: 0,
      expiresAt: isAdmitted ? Number(expiresAt) : null,
      now: Number(now),
      token: isAdmitted ? Number(token) : null,
      refusedBy: isAdmitted ? null : 'model',
      position: null,
      tenantUsed: 0,
    };
  }
  const [admitted, alreadyHeld, used, reclaimed, expiresAt, now, token] = reply;
  const [refusedBy, position, tenantUsed] = reply.slice(7);
  return {
    admitted: admitted === 1,
    alreadyHeld: alreadyHeld === 1,
    used,
    reclaimed,
    expiresAt: admitted === 1 ? expiresAt : null,
    now,
    token: admitted === 1 ? token : null,
    refusedBy: REFUSED_BY[refusedBy] ?? null,
    position: position > 0 ? position : null,
    tenantUsed,
  };
}

/** A release script's answer: `released` alone on its common path, else the full array. */
function releaseReplyOf(reply: number | number[]): ReleaseReply {
  if (typeof reply === 'number') return { released: reply === 1, stale: false, currentToken: null };
  const [released, stale, currentToken] = reply;
  return {
    released: released === 1,
    stale: stale === 1,
    currentToken: stale ? currentToken : null,
  };
}

/**
 * An error reply means Redis processed the call and refused it: the script checks every input
 * before its first write, so nothing was admitted and nothing needs undoing.
 */
function refusalOf(error: unknown): never {
  throw error instanceof ReplyError ? new StoreRefusal(error) : error;
}

/** Escapes Redis glob characters, so that a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** `<node index>:<node cursor>`, or the start of a scan; throws on a cursor it never gave. */
function parseSnapshotCursor(cursor: string | undefined, nodes: number): [number, string] {
  if (cursor === undefined) return [0, '0'];
  const match = /^(\d+):(\d+)$/.exec(cursor);
  const index = match ? Number(match[1]) : NaN;
  if (!match || index >= nodes) {
    throw new Error(`snapshot cursor "${cursor}" is not one this store gave (${nodes} node(s))`);
  }
  return [index, match[2]];
}

/** A script's `{ state, a, b, c }` report of one waiter. */
function waiterState([state, a, b, c]: (number | string)[]): WaiterState {
  if (state === 1) return { state: 'queued', position: Number(a) };
  if (state === 2) {
    return { state: 'admitted', token: Number(a), expiresAt: Number(b), used: Number(c) };
  }
  return { state: 'gone' };
}
