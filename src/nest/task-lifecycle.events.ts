/** Names of the task lifecycle events the module listens to and emits. */
export interface QueueGateEventNames {
  /** Listened to: the task ended well; its slot is released. */
  succeeded: string;
  /** Listened to: the task failed; its slot is released. */
  failed: string;
  /** Listened to: the task was cancelled; its slot is released. */
  cancelled: string;
  /** Listened to: a failed task is retried; its slot is taken again, or `retryDeferred` emitted. */
  retrying: string;
  /** Emitted: a retry found the gate full; keep the task failed and try again later. */
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
  retryDeferred: 'queue-gate.task.retry-deferred',
  leaseLost: 'queue-gate.lease-lost',
});

/** Payload of every task lifecycle event, listened to or emitted. */
export class TaskLifecycleEvent {
  constructor(
    /** The gate (model) the task's slot belongs to. */
    readonly model: string,
    /** The task's holder id, as given to or made by `acquire`. */
    readonly taskId: string,
    /** For `retrying`: expected duration of the retried run, for its lease. */
    readonly expectedSeconds?: number,
  ) {}
}
