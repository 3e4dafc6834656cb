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
  model: string;
  taskId: string;
  /** Live holders of the gate after the call. */
  used: number;
  /** The limit applied; null when unlimited. */
  limit: GateLimit;
  /** Expired slots reclaimed by this call: releases that never came (a leak signal). */
  reclaimed: number;
  /** Lease end in ms since the epoch, by the store's clock; null when not acquired. */
  expiresAt: number | null;
}

/** Options of an extend or a keep-alive renewal. */
export interface ExtendOptions {
  /** Expected remaining duration in seconds, turned into a lease by the lease policy. */
  expectedSeconds?: number;
}

/** Options of a keep-alive. */
export interface KeepAliveOptions extends ExtendOptions {
  /** Seconds between renewals. Default: a third of the lease. */
  everySeconds?: number;
  /** Called once when a renewal finds the lease already lost. */
  onLost?: () => void;
}

/** A gate's occupancy. */
export interface GateUsage {
  model: string;
  used: number;
  /** Null when unlimited. */
  limit: GateLimit;
  /** Slots free now (0 when the gate is over its limit); null when unlimited. */
  available: number | null;
}

/** One live holder of a gate. */
export interface GateHolderInfo {
  taskId: string;
  /** Lease end in ms since the epoch, by the store's clock. */
  expiresAt: number;
}

/** Options of a reconcile. */
export interface ReconcileOptions extends ExtendOptions {
  /**
   * When given, only these holders may be removed; holders missing from the active list but
   * not named here stay. A periodic reconcile passes the holders it found unknown twice in a
   * row, so that a slot taken after it read the database is never removed.
   */
  removable?: readonly string[];
}

/** The answer of a reconcile. */
export interface ReconcileResult {
  model: string;
  added: number;
  removed: number;
  used: number;
}
