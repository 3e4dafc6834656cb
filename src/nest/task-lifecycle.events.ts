/** Names of the task lifecycle events the module listens to and emits. */
export interface QueueGateEventNames {
  /** Listened to: the task ended well; its slot is released. */
  succeeded: string;
  /** Listened to: the task failed; its slot is released. */
  failed: string;
  /** Listened to: the task was cancelled; its slot is released. */
  cancelled: string;
  /**
   * Listened to: a failed task is retried; its slot is taken again as a new admission, and
   * `retryAdmitted` or `retryDeferred` is emitted.
   */
  retrying: string;
  /** Emitted: a retry was admitted; the event's `token` is the new admission's. */
  retryAdmitted: string;
  /**
   * Emitted: a retry was not admitted, and its `reason` says why: `'full'` (no free slot) or
   * `'unavailable'` (the gate could not be reached; an admission that may have landed anyway
   * is undone by the gate). Keep the task failed and try again later.
   */
  retryDeferred: string;
  /** Emitted: a keep-alive found the task's lease already lost. */
  leaseLost: string;
}

/** Default event names. */
export const QUEUE_GATE_EVENTS: Readonly<QueueGateEventNames> = Object.freeze({
  succeeded: 'queue-gate.task.succeeded',
  failed: 'queue-gate.task.failed',
  cancelled: 'queue-gate.task.cancelled',
  retrying: 'queue-gate.task.retrying',
  retryAdmitted: 'queue-gate.task.retry-admitted',
  retryDeferred: 'queue-gate.task.retry-deferred',
  leaseLost: 'queue-gate.lease-lost',
});

/** Why a retry was deferred. */
export type RetryDeferredReason = 'full' | 'unavailable';

/** The optional fields of a {@link TaskLifecycleEvent}. */
export interface TaskLifecycleDetails {
  /**
   * The fencing token of the task's admission (from `@GateSlot()`, `acquire` or
   * `retryAdmitted`). On `succeeded` / `failed` / `cancelled` it fences the release: a late
   * event of an earlier run cannot free the slot of a retry admitted since. Without it the
   * release is unfenced.
   */
  token?: number;
  /** For `retrying`: expected duration of the retried run, for its lease. */
  expectedSeconds?: number;
  /** On `retryDeferred`: why the retry was not admitted. */
  reason?: RetryDeferredReason;
}

/** Payload of every task lifecycle event, listened to or emitted. */
export class TaskLifecycleEvent {
  /** See {@link TaskLifecycleDetails.token}. */
  readonly token?: number;
  /** See {@link TaskLifecycleDetails.expectedSeconds}. */
  readonly expectedSeconds?: number;
  /** See {@link TaskLifecycleDetails.reason}. */
  readonly reason?: RetryDeferredReason;

  constructor(
    /** The gate (model) the task's slot belongs to. */
    readonly model: string,
    /** The task's holder id, as given to or made by `acquire`. */
    readonly taskId: string,
    details: TaskLifecycleDetails = {},
  ) {
    // Fields left out stay absent, so the event compares and serializes as it was written.
    if (details.token !== undefined) this.token = details.token;
    if (details.expectedSeconds !== undefined) this.expectedSeconds = details.expectedSeconds;
    if (details.reason !== undefined) this.reason = details.reason;
  }
}
