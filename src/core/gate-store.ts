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
  /** Counts the live holders of a gate. */
  usage(gate: string): Promise<UsageReply>;
  /** Lists the live holders of a gate with their lease ends and tokens, soonest lease end first. */
  holders(gate: string): Promise<HoldersReply>;
  /**
   * Makes the gate hold exactly `holders` (sparing what `removable` and `sparedPrefix` protect), in
   * one atomic step.
   */
  reconcile(request: ReconcileRequest): Promise<ReconcileReply>;
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
}

/** The store's answer to an acquire. */
export interface AcquireReply {
  /** True when the holder holds a slot after the call (newly or already). */
  admitted: boolean;
  /** True when the holder held a live slot before the call; its lease was not shortened. */
  alreadyHeld: boolean;
  /** Live holders after the call. */
  used: number;
  /** Expired holders removed by this call: each one is a slot whose release never came. */
  reclaimed: number;
  /** End of the holder's lease in store-clock ms, or null when not admitted. */
  expiresAt: number | null;
  /** The store's clock at the decision, in ms. */
  now: number;
  /** The admission's fencing token, or null when not admitted. */
  token: number | null;
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
  /** Live holders of the gate. */
  used: number;
  /** The store's clock at the count, in ms. */
  now: number;
}

/** One live holder, as the store reports it. */
export interface GateHolder {
  /** The holder (task id). */
  holder: string;
  /** Lease end in ms since the epoch, by the store's clock. */
  expiresAt: number;
  /** The admission's fencing token (0 for a holder recorded before tokens existed). */
  token: number;
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
  /** Live holders after the reconcile. */
  used: number;
}
