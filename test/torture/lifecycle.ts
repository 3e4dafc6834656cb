import type { EventEmitter2 } from '@nestjs/event-emitter';
import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../../src';

/** The answer to a retry: admitted with the new admission's token and a lease end it has. */
export type RetryOutcome =
  { admitted: true; token: number; leaseEnd: number } | { admitted: false; why: string };

/** Longest wait for the listener's answer to `retrying`. */
const RETRY_ANSWER_TIMEOUT_MS = 10_000;

/**
 * Asks the gate's lifecycle listener to take a failed task's slot again, as an application
 * does: emit `retrying`, then wait for `retryAdmitted` (with the new token) or `retryDeferred`
 * (with its reason) for this task.
 */
export function retryTask(
  events: EventEmitter2,
  task: { model: string; taskId: string; token: number | null; expectedSeconds?: number },
  leaseMs: number,
): Promise<RetryOutcome> {
  return new Promise((resolve) => {
    const sentAt = Date.now();
    const finish = (outcome: RetryOutcome) => {
      clearTimeout(timer);
      events.off(QUEUE_GATE_EVENTS.retryAdmitted, onAdmitted);
      events.off(QUEUE_GATE_EVENTS.retryDeferred, onDeferred);
      resolve(outcome);
    };
    const onAdmitted = (event: TaskLifecycleEvent) => {
      if (event.taskId !== task.taskId || event.token === undefined) return;
      // The event carries no lease end; the reacquire was sent after `sentAt`, so the lease it
      // took ends after sentAt + lease (less a few ms of clock rounding).
      finish({ admitted: true, token: event.token, leaseEnd: sentAt + leaseMs - 5 });
    };
    const onDeferred = (event: TaskLifecycleEvent) => {
      if (event.taskId === task.taskId)
        finish({ admitted: false, why: event.reason ?? 'deferred' });
    };
    // No answer at all: wait no longer (an acquire whose answer was lost is undone by the gate).
    const timer = setTimeout(
      () => finish({ admitted: false, why: 'no answer' }),
      RETRY_ANSWER_TIMEOUT_MS,
    );
    events.on(QUEUE_GATE_EVENTS.retryAdmitted, onAdmitted);
    events.on(QUEUE_GATE_EVENTS.retryDeferred, onDeferred);
    events.emit(
      QUEUE_GATE_EVENTS.retrying,
      lifecycleEvent(task.model, task.taskId, task.token, task.expectedSeconds),
    );
  });
}

/** A lifecycle event fenced to the admission's token (unfenced when it has none). */
export function lifecycleEvent(
  model: string,
  taskId: string,
  token: number | null,
  expectedSeconds: number | undefined,
): TaskLifecycleEvent {
  return new TaskLifecycleEvent(model, taskId, { token: token ?? undefined, expectedSeconds });
}
