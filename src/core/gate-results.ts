import type { GateLimit } from './limit-source';

/** Options of one acquire. */
export interface AcquireOptions {
  /**
   * Holder id. Generated (UUID v4) when omitted. Supply your own task id only when the server
   * made it: a client that can name another task's id could share or free that task's slot.
   */
  taskId?: string;
  /** Limit for this call, overriding the `limits` option and `defaultLimit`. 0 or null: unlimited. */
  limit?: GateLimit;
  /** Expected task duration in seconds, turned into a lease by the lease policy. */
  expectedSeconds?: number;
}

/** The answer of an acquire. */
export interface AcquireResult {
  /** True when the task holds a slot after the call. */
  acquired: boolean;
  /** True when the task already held its slot (a retry or duplicate): still one slot. */
  alreadyHeld: boolean;
  /** The gate (model) of the call. */
  model: string;
  /** The holder id: the given task id, or the UUID made for it. */
  taskId: string;
  /** Live holders of the gate after the call. */
  used: number;
  /** The limit applied; null when unlimited. */
  limit: GateLimit;
  /** Expired slots reclaimed by this call: releases that never came (a leak signal). */
  reclaimed: number;
  /** Lease end in ms since the epoch, by the store's clock; null when not acquired. */
  expiresAt: number | null;
  /**
   * The admission's fencing token; null when not acquired. Tokens strictly increase per gate,
   * also across the gate's keys expiring (they never fall below the store's clock in
   * microseconds). Keep it with the task: a release or extend that passes it cannot touch a
   * later admission of the same task, and a downstream store can refuse writes that carry a
   * token older than one it has seen (a fencing token in Kleppmann's sense).
   */
  token: number | null;
}

/** Options of a release. */
export interface ReleaseOptions {
  /**
   * The token of the admission being released. With it the release is fenced: it changes
   * nothing, and throws `StaleTokenError`, when the task was admitted again since. Without it
   * the release is unfenced and frees whatever admission the task holds.
   */
  token?: number;
}

/** Options of an extend or a keep-alive renewal. */
export interface ExtendOptions {
  /** Expected remaining duration in seconds, turned into a lease by the lease policy. */
  expectedSeconds?: number;
  /** The token of the admission to renew; a newer admission is left alone (`StaleTokenError`). */
  token?: number;
}

/** Options of a keep-alive. */
export interface KeepAliveOptions extends ExtendOptions {
  /** Seconds between renewals; shorter than the lease. Default: a third of the lease. */
  everySeconds?: number;
  /** Called once when a renewal finds the lease already lost. */
  onLost?: () => void;
}

/** A gate's occupancy. */
export interface GateUsage {
  /** The gate (model). */
  model: string;
  /** Live holders of the gate now. */
  used: number;
  /** Null when unlimited. */
  limit: GateLimit;
  /** Slots free now (0 when the gate is over its limit); null when unlimited. */
  available: number | null;
}

/** One live holder of a gate. */
export interface GateHolderInfo {
  /** The holder id. */
  taskId: string;
  /** Lease end in ms since the epoch, by the store's clock. */
  expiresAt: number;
  /** The fencing token of its admission (0 for a holder recorded before tokens existed). */
  token: number;
}

/** A holder a reconcile may remove, only while it holds the admission named by `token`. */
export interface FencedHolder {
  /** The holder id. */
  taskId: string;
  /** Remove only while the task holds this token; absent for any. */
  token?: number;
}

/** Options of a reconcile. */
export interface ReconcileOptions extends ExtendOptions {
  /**
   * When given, only these holders may be removed; holders missing from the active list but
   * not named here stay. A periodic reconcile passes the holders it found unknown twice in a
   * row, with their tokens, so that a slot taken after it read the database, or the same task
   * admitted again meanwhile, is never removed.
   */
  removable?: readonly (string | FencedHolder)[];
}

/** The answer of a reconcile. */
export interface ReconcileResult {
  /** The gate (model). */
  model: string;
  /** Holders added: active tasks the gate did not hold (with a fresh lease and token). */
  added: number;
  /** Holders removed: tasks the gate held but the active list did not name. */
  removed: number;
  /** Live holders after the reconcile. */
  used: number;
}
