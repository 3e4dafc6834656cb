import type { GateLimit } from '../core/limit-source';

/** The slot a `@QueueLimited` request holds, as seen by its handler through `@GateSlot()`. */
export interface GateSlotInfo {
  /** The gate (model) the request was admitted to. */
  model: string;
  /** The holder id: store it with the task, and release with it when the task ends. */
  taskId: string;
  /**
   * The admission's fencing token; null when untracked. Store it with the task and pass it on
   * the lifecycle event that ends it (`new TaskLifecycleEvent(model, taskId, { token })`) or to
   * `release`, so a late end of this run cannot free the slot of a retry admitted since; a
   * downstream store can also refuse writes older than a token it has seen.
   */
  token: number | null;
  /** Lease end in ms since the epoch (Redis server clock); null when untracked. */
  expiresAt: number | null;
  /** Live holders of the gate after this request was admitted. */
  used: number;
  /** The limit applied; null when unlimited. */
  limit: GateLimit;
  /**
   * False when the gate could not be reached and `failOpen` admitted the request without a
   * slot: there is nothing to release.
   */
  tracked: boolean;
}
