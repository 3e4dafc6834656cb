import type { DoctorFinding } from './doctor';

/**
 * The storage port of the gate. Every method is one atomic step on one gate, decided by the
 * store's own clock (the Redis server's `TIME` for the Redis store), never by the caller's.
 *
 * `gate` is the model name; stores derive their keys from it. A limit of `null` means
 * unlimited: the holder is recorded but not compared. Every admission gets a fencing token that
 * strictly increases per gate.
 */
export interface GateStore {
  /**
   * Reclaims ended leases, then admits the holder if the gate has room or it already holds; records
   * its token. One atomic step.
   */
  acquire(request: AcquireRequest): Promise<AcquireReply>;
  /**
   * Removes the holder and its token, unless a fence names an admission it no longer holds (then
   * `stale`). Idempotent.
   */
  release(request: ReleaseRequest): Promise<ReleaseReply>;
  /**
   * Renews a live lease to `leaseMs` from now, never shortening it; a lost lease is not brought
   * back.
   */
  extend(request: ExtendRequest): Promise<ExtendReply>;
  /** Counts the live holders of a gate, their units, its waiters and, optionally, a tenant's units. */
  usage(gate: string, tenant?: string): Promise<UsageReply>;
  /** Lists the live holders of a gate with their lease ends and tokens, soonest lease end first. */
  holders(gate: string): Promise<HoldersReply>;
  /**
   * Makes the gate hold exactly `holders` (sparing what `removable` and `sparedPrefix` protect), in
   * one atomic step.
   */
  reconcile(request: ReconcileRequest): Promise<ReconcileReply>;
  /**
   * Renews the queue places of this instance's waiters on a gate and reports each one's state,
   * in the order given. Also reclaims ended leases and hands free units to the queue.
   */
  heartbeat(request: HeartbeatRequest): Promise<WaiterState[]>;
  /** Takes a waiter out of the queue, or reports that it was admitted before it could leave. */
  leave(request: WaiterRequest): Promise<WaiterState>;
  /**
   * Calls `listener` with the admissions the store hands to a gate's waiters, from whichever
   * instance freed the units. Resolves once listening; the returned function stops it. Messages
   * may be lost (a reconnect): the heartbeat reports what they would have said.
   */
  subscribe(gate: string, listener: AdmissionListener): Promise<() => Promise<void>>;
  /** Frees what the store opened itself (a subscriber connection); not the client it was given. */
  close(): Promise<void>;
  /**
   * Checks the server the store runs on: what it is, and whatever would make the gate unsafe or
   * unusable on it. Optional: a store without it has nothing to report.
   */
  diagnose?(): Promise<DoctorFinding[]>;
  /**
   * One page of the state of every gate the store holds, with bounded work per call: pass the
   * returned `cursor` back until it is null. A gate is listed once per complete scan unless the
   * store's topology changes during it. Optional: a store without it cannot list its gates.
   */
  snapshot?(request: SnapshotRequest): Promise<SnapshotReply>;
}

/** A request for one page of a store's gates. */
export interface SnapshotRequest {
  /** Where the previous page stopped; absent to start a scan. */
  cursor?: string;
  /** How much work one call may do: about this many keys (or gates) looked at. */
  count: number;
}

/** The state of one gate, as the store reads it in one atomic step. */
export interface GateStateSnapshot {
  /** The gate (model name). */
  gate: string;
  /** Units the live holders take. */
  used: number;
  /** Live holders. */
  holders: number;
  /** Waiters in the queue. */
  waiting: number;
  /** The soonest lease end of a live holder, by the store's clock; null without live holders. */
  soonestLeaseEnd: number | null;
  /** The latest lease end of a live holder, by the store's clock; null without live holders. */
  latestLeaseEnd: number | null;
  /** Holders whose lease ended but that were not reclaimed yet (the next acquire reclaims them). */
  ended: number;
  /**
   * Leases reclaimed on the gate since its keys were made (in Redis they live while the gate is
   * used, and a day past its longest lease): each a release that never came.
   */
  reclaimed: number;
  /** The store's clock at the read, in ms. */
  now: number;
}

/** One page of a store's gates. */
export interface SnapshotReply {
  /** The gates of this page (possibly none while the scan goes on). */
  gates: GateStateSnapshot[];
  /** Pass back to get the next page; null when the scan is complete. */
  cursor: string | null;
}

/**
 * Thrown by a store when the server answered a call with an error (a refusal: read-only
 * replica, too few replicas to write, no permission): the call was processed and changed
 * nothing, unlike a timeout or a dropped connection, after which it may still run. The gate
 * owes no undo for an acquire refused so.
 */
export class StoreRefusal extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'StoreRefusal';
  }
}

/** Injection token of the {@link GateStore} a module uses. */
export const GateStore = Symbol('GateStore');

/** The part of a store request that names one holder of one gate. */
export interface HolderRequest {
  /** The gate (model name); the store derives its keys from it. */
  gate: string;
  /** The holder (task id). */
  holder: string;
}

/** A request to take one slot of a gate. */
export interface AcquireRequest extends HolderRequest {
  /** Highest number of live holders, or null for unlimited. */
  limit: number | null;
  /** Lease length from now, in ms. */
  leaseMs: number;
  /**
   * Names this call, so that a release fenced to it can undo the admission if the answer is
   * lost. Unique per call.
   */
  attempt: string;
  /** A retry: a new admission with a new token even if the holder still holds. Default false. */
  renew?: boolean;
  /** Units of the limit this holder takes; default 1. */
  cost?: number;
  /** The tenant the holder is counted for, if any. */
  tenant?: string;
  /** The tenant's share of the limit in units; null or absent for no share. */
  perTenant?: number | null;
  /**
   * When > 0 and the holder cannot be admitted, it joins the gate's queue and must renew its
   * place (see {@link GateStore.heartbeat}) within this many ms. 0 or absent: answer at once.
   */
  waiterLeaseMs?: number;
  /**
   * Wait until this many replicas hold the call's writes, for at most `timeoutMs`, before
   * answering (Redis `WAIT`); the reply's `replicated` says how many did.
   */
  durability?: DurabilityRequest;
}

/** How many replicas must confirm an acquire's writes, and how long to wait for them. */
export interface DurabilityRequest {
  /** Replicas that must confirm. */
  replicas: number;
  /** Longest wait for them, in ms. */
  timeoutMs: number;
}

/** Which limit refused an admission: the model's (or waiters ahead of it) or the tenant's share. */
export type RefusedBy = 'model' | 'tenant';

/** The store's answer to an acquire. */
export interface AcquireReply {
  /** True when the holder holds a slot after the call (newly or already). */
  admitted: boolean;
  /** True when the holder held a live slot before the call; its lease was not shortened. */
  alreadyHeld: boolean;
  /** Units used after the call. */
  used: number;
  /** Expired holders removed by this call: each one is a slot whose release never came. */
  reclaimed: number;
  /** End of the holder's lease in store-clock ms, or null when not admitted. */
  expiresAt: number | null;
  /** The store's clock at the decision, in ms. */
  now: number;
  /** The admission's fencing token, or null when not admitted. */
  token: number | null;
  /** Why it was not admitted, or null when admitted. */
  refusedBy: RefusedBy | null;
  /** Its place in the queue (1 = next) when it joined or renewed it, else null. */
  position: number | null;
  /** Units the tenant uses after the call (0 without a tenant). */
  tenantUsed: number;
  /** With `durability`: how many replicas confirmed the call's writes; else null. */
  replicated?: number | null;
}

/**
 * What a release is fenced to: it changes nothing unless the holder still holds that admission.
 * `{ token }` names an admission by its fencing token; `{ attempt }` names the one acquire call
 * that took it, to undo an acquire whose answer was lost.
 */
export type ReleaseFence = { token: number } | { attempt: string };

/** A request to give a holder's slot back. */
export interface ReleaseRequest extends HolderRequest {
  /** Absent: unfenced, the holder's slot goes whatever admission it is. */
  fence?: ReleaseFence;
}

/** The store's answer to a release. */
export interface ReleaseReply {
  /** True when the holder was recorded and is now removed. */
  released: boolean;
  /** True when the fence named an admission the holder no longer holds: nothing changed. */
  stale: boolean;
  /** With `stale`, the token of the admission the holder holds now. */
  currentToken: number | null;
}

/** A request to renew a holder's lease. */
export interface ExtendRequest extends HolderRequest {
  /** The new lease length from now, in ms. */
  leaseMs: number;
  /** The token of the admission to renew; absent renews whatever the holder holds. */
  token?: number;
}

/** The store's answer to an extend. */
export interface ExtendReply {
  /** False when the lease was already lost (expired or released); it is not brought back. */
  extended: boolean;
  /** The lease's end after the call, or null when not extended. */
  expiresAt: number | null;
  /** The store's clock at the decision, in ms. */
  now: number;
  /** True when the holder holds a newer admission than `token`: nothing changed. */
  stale: boolean;
  /** The token the holder holds now, or null when it holds nothing. */
  currentToken: number | null;
}

/** The store's answer to a usage query. */
export interface UsageReply {
  /** Units the live holders take. */
  used: number;
  /** The store's clock at the count, in ms. */
  now: number;
  /** Live holders. */
  holders: number;
  /** Waiters in the queue. */
  waiting: number;
  /** Units the tenant's live holders take (0 when no tenant was asked for). */
  tenantUsed: number;
}

/** One live holder, as the store reports it. */
export interface GateHolder {
  /** The holder (task id). */
  holder: string;
  /** Lease end in ms since the epoch, by the store's clock. */
  expiresAt: number;
  /** The admission's fencing token (0 for a holder recorded before tokens existed). */
  token: number;
  /** Units it takes. */
  cost: number;
  /** Its tenant, or null. */
  tenant: string | null;
}

/** The store's answer to a holders query. */
export interface HoldersReply {
  /** The live holders, soonest lease end first. */
  holders: GateHolder[];
  /** The store's clock at the read, in ms. */
  now: number;
}

/** A holder that a reconcile may remove, optionally only while it holds one admission. */
export interface RemovableHolder {
  /** The holder (task id) that may be removed. */
  holder: string;
  /** Remove only while the holder holds this token; absent for any. */
  token?: number;
}

/** A request to make a gate hold exactly a given set of holders. */
export interface ReconcileRequest {
  /** The gate (model name). */
  gate: string;
  /** The complete set of holders that should exist; every other holder is removed. */
  holders: readonly string[];
  /** Lease given to holders that are added. */
  leaseMs: number;
  /**
   * When given, only these holders may be removed; other holders missing from `holders` stay.
   * Lets a periodic reconcile spare holders admitted after it read the source of truth.
   */
  removable?: readonly RemovableHolder[];
  /** Holders whose id starts with this are never removed (request-bound slots). */
  sparedPrefix?: string;
}

/** The store's answer to a reconcile. */
export interface ReconcileReply {
  /** Holders added. */
  added: number;
  /** Holders removed. */
  removed: number;
  /** Units used after the reconcile. */
  used: number;
}

/** One waiting call of one holder. */
export interface WaiterRequest extends HolderRequest {
  /** The attempt id of the acquire that queued it. */
  attempt: string;
}

/** One waiting call, by holder and the attempt id of the acquire that queued it. */
export interface WaiterRef {
  /** The holder (task id). */
  holder: string;
  /** The attempt id of its waiting call. */
  attempt: string;
}

/** A request to renew the queue places of waiters of one gate. */
export interface HeartbeatRequest {
  /** The gate (model name). */
  gate: string;
  /** The waiters, each by holder and attempt. */
  waiters: readonly WaiterRef[];
  /** Each must renew its place again within this many ms. */
  waiterLeaseMs: number;
}

/** Where a waiting call stands: queued, admitted by that call, or gone (its place lapsed). */
export type WaiterState = WaiterQueued | WaiterAdmitted | WaiterGone;

/** The call is still in the queue. */
export interface WaiterQueued {
  /** Queued. */
  state: 'queued';
  /** Its place (1 = next). */
  position: number;
}

/** The call was admitted: the store handed it a slot. */
export interface WaiterAdmitted {
  /** Admitted. */
  state: 'admitted';
  /** The admission's fencing token. */
  token: number;
  /** Its lease end, by the store's clock. */
  expiresAt: number;
  /** Units used after the admission (or at the report). */
  used: number;
}

/** The call is neither queued nor holding by that attempt. */
export interface WaiterGone {
  /** Gone. */
  state: 'gone';
}

/** An admission the store handed to a waiter, as announced to every instance. */
export interface HandedAdmission {
  /** The holder admitted. */
  holder: string;
  /** The attempt id of its waiting call. */
  attempt: string;
  /** The admission's fencing token. */
  token: number;
  /** Its lease end, by the store's clock. */
  expiresAt: number;
  /** Units used after it. */
  used: number;
  /** Units its tenant uses after it (0 without a tenant). */
  tenantUsed: number;
}

/** Receives the admissions handed to a gate's waiters. */
export type AdmissionListener = (admissions: HandedAdmission[]) => void;
