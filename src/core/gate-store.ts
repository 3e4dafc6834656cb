/**
 * The storage port of the gate. Every method is one atomic step on one gate, decided by the
 * store's own clock (the Redis server's `TIME` for the Redis store), never by the caller's.
 *
 * `gate` is the model name; stores derive their keys from it. A limit of `null` means
 * unlimited: the holder is recorded but not compared. Every admission gets a fencing token that
 * strictly increases per gate.
 */
export interface GateStore {
  acquire(request: AcquireRequest): Promise<AcquireReply>;
  release(request: ReleaseRequest): Promise<ReleaseReply>;
  extend(request: ExtendRequest): Promise<ExtendReply>;
  usage(gate: string): Promise<UsageReply>;
  holders(gate: string): Promise<HoldersReply>;
  reconcile(request: ReconcileRequest): Promise<ReconcileReply>;
}

/** Injection token of the {@link GateStore} a module uses. */
export const GateStore = Symbol('GateStore');

export interface HolderRequest {
  gate: string;
  holder: string;
}

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

/** What a release is fenced to: it changes nothing unless the holder still holds that admission. */
export type ReleaseFence = { token: number } | { attempt: string };

export interface ReleaseRequest extends HolderRequest {
  /** Absent: unfenced, the holder's slot goes whatever admission it is. */
  fence?: ReleaseFence;
}

export interface ReleaseReply {
  /** True when the holder was recorded and is now removed. */
  released: boolean;
  /** True when the fence named an admission the holder no longer holds: nothing changed. */
  stale: boolean;
  /** With `stale`, the token of the admission the holder holds now. */
  currentToken: number | null;
}

export interface ExtendRequest extends HolderRequest {
  leaseMs: number;
  /** The token of the admission to renew; absent renews whatever the holder holds. */
  token?: number;
}

export interface ExtendReply {
  /** False when the lease was already lost (expired or released); it is not brought back. */
  extended: boolean;
  /** The lease's end after the call, or null when not extended. */
  expiresAt: number | null;
  now: number;
  /** True when the holder holds a newer admission than `token`: nothing changed. */
  stale: boolean;
  /** The token the holder holds now, or null when it holds nothing. */
  currentToken: number | null;
}

export interface UsageReply {
  used: number;
  now: number;
}

export interface GateHolder {
  holder: string;
  expiresAt: number;
  /** The admission's fencing token (0 for a holder recorded before tokens existed). */
  token: number;
}

export interface HoldersReply {
  holders: GateHolder[];
  now: number;
}

/** A holder that a reconcile may remove, optionally only while it holds one admission. */
export interface RemovableHolder {
  holder: string;
  /** Remove only while the holder holds this token; absent for any. */
  token?: number;
}

export interface ReconcileRequest {
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

export interface ReconcileReply {
  added: number;
  removed: number;
  used: number;
}
