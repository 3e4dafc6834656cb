import type { RefusedBy } from './gate-store';
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
  /**
   * How long to wait for a slot when the gate is full, in ms. Waiters are served in arrival
   * order across every instance. Default 0: answer at once.
   */
  waitMs?: number;
  /** Aborts a wait: the call leaves the queue at once and throws `AcquireAbortedError`. */
  signal?: AbortSignal;
  /** The tenant the task counts for, against the model's `perTenant` share. */
  tenant?: string;
  /** Units of the model's limit the task takes (an integer ≥ 1). Default 1. */
  cost?: number;
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
  /** Units of the gate in use after the call (live holders, when every task costs 1). */
  used: number;
  /** The limit applied, in units; null when unlimited. */
  limit: GateLimit;
  /** Units this task takes (or, when `alreadyHeld`, took when it was admitted: the first cost stays). */
  cost: number;
  /** The tenant of the call, or null. */
  tenant: string | null;
  /** Units the tenant uses after the call; null without a tenant, or when not known. */
  tenantUsed: number | null;
  /** The tenant's share in units; null without a tenant or without a share. */
  tenantLimit: GateLimit;
  /** Which limit refused the task: the model's (or waiters ahead of it), the tenant's share, or null when acquired. */
  refusedBy: RefusedBy | null;
  /** How long the call waited in the queue, in ms (0 when it did not wait). */
  waitedMs: number;
  /** When it waited and was not admitted: its place in the queue when it gave up (1 = next). */
  position: number | null;
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

/** Options of a usage query. */
export interface UsageOptions {
  /** Also count this tenant's units. */
  tenant?: string;
}

/** Options of {@link QueueGate.snapshot}. */
export interface SnapshotOptions {
  /** The `cursor` a previous call returned; absent to start a scan. */
  cursor?: string;
  /** How much one call may look at (keys scanned, or gates): an integer in [1, 10000]. Default 100. */
  count?: number;
}

/** One gate in a snapshot. */
export interface GateSnapshot {
  /** The gate (model). */
  model: string;
  /** Units live holders take. */
  used: number;
  /** Live holders. */
  holders: number;
  /** Calls waiting in the gate's queue. */
  waiting: number;
  /** The limit that applies now (from the `limits` option, as in `usage()`); null when unlimited. */
  limit: GateLimit;
  /** The soonest lease end of a live holder (store clock, ms since the epoch); null without one. */
  soonestLeaseEnd: number | null;
  /** The latest lease end of a live holder (store clock, ms since the epoch); null without one. */
  latestLeaseEnd: number | null;
  /** Holders whose lease ended but were not reclaimed yet: releases that never came. */
  ended: number;
  /**
   * Leases reclaimed on this gate since its keys were made (in Redis: while the gate is used,
   * and a day past its longest lease), by every instance: releases that never came.
   */
  reclaimed: number;
}

/** One page of a snapshot. */
export interface GateSnapshotPage {
  /** The gates of this page; a page may be empty while the scan goes on. */
  gates: GateSnapshot[];
  /** Pass it back as `cursor` for the next page; null when the scan is complete. */
  cursor: string | null;
}

/** A gate's occupancy. */
export interface GateUsage {
  /** The gate (model). */
  model: string;
  /** Units in use now (live holders, when every task costs 1). */
  used: number;
  /** Live holders now. */
  holders: number;
  /** Calls waiting in the gate's queue (a waiter whose process died counts until its heartbeat lease ends). */
  waiting: number;
  /** Null when unlimited. */
  limit: GateLimit;
  /** Units free now (0 when the gate is over its limit); null when unlimited. */
  available: number | null;
  /** With a tenant: the units it uses now. */
  tenantUsed?: number;
  /** With a tenant: its share in units, or null for none. */
  tenantLimit?: GateLimit;
}

/** One live holder of a gate. */
export interface GateHolderInfo {
  /** The holder id. */
  taskId: string;
  /** Lease end in ms since the epoch, by the store's clock. */
  expiresAt: number;
  /** The fencing token of its admission (0 for a holder recorded before tokens existed). */
  token: number;
  /** Units it takes. */
  cost: number;
  /** Its tenant, or null. */
  tenant: string | null;
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
