import type { EventEmitter2 } from '@nestjs/event-emitter';
import { QUEUE_GATE_EVENTS, type QueueGate, TaskLifecycleEvent } from '../../src';
import { tokenOf } from './holdings';

/*
 * How a worker talks to the gate's lifecycle listener about one task: the events it emits, and
 * the retry, admitted (with the new token) or not. Kept apart so the worker reads as a story.
 */

/** Event names, including the ones the token work adds (`retryAdmitted`). */
const NAMES = QUEUE_GATE_EVENTS as unknown as Record<string, string | undefined>;

/** True once the listener reports admitted retries with their token. */
export const RETRY_ADMITTED_EVENT = NAMES.retryAdmitted;

/** A lifecycle event that carries the admission's token (when the listener understands it). */
export function lifecycleEvent(
  model: string,
  taskId: string,
  token: number | null,
  expectedSeconds: number | undefined,
): TaskLifecycleEvent {
  const Event = TaskLifecycleEvent as unknown as new (
    model: string,
    taskId: string,
    details?: unknown,
  ) => TaskLifecycleEvent;
  if (RETRY_ADMITTED_EVENT === undefined) return new Event(model, taskId, expectedSeconds);
  return new Event(model, taskId, { token: token ?? undefined, expectedSeconds });
}

/** The answer to a retry: admitted with the new admission's token and a lease end it has. */
export type RetryOutcome =
  { admitted: true; token: number | null; leaseEnd: number } | { admitted: false; why: string };

/**
 * Asks the gate to take the task's slot again. Through the `retrying` event when the listener
 * answers with `retryAdmitted`; otherwise straight through `reacquire`.
 */
export function retryTask(
  events: EventEmitter2,
  gate: QueueGate,
  task: { model: string; taskId: string; token: number | null; expectedSeconds?: number },
  leaseMs: number,
): Promise<RetryOutcome> {
  if (RETRY_ADMITTED_EVENT === undefined) return reacquireDirectly(gate, task);
  const admittedEvent = RETRY_ADMITTED_EVENT;
  const deferredEvent = NAMES.retryDeferred!;
  return new Promise((resolve) => {
    const sentAt = Date.now();
    const finish = (outcome: RetryOutcome) => {
      clearTimeout(timer);
      events.off(admittedEvent, onAdmitted);
      events.off(deferredEvent, onDeferred);
      resolve(outcome);
    };
    const mine = (payload: unknown) => (payload as TaskLifecycleEvent).taskId === task.taskId;
    const onAdmitted = (payload: object) => {
      // The reacquire was sent after `sentAt`, so its lease ends after sentAt + lease.
      if (mine(payload))
        finish({ admitted: true, token: tokenOf(payload), leaseEnd: sentAt + leaseMs - 5 });
    };
    const onDeferred = (payload: object) => {
      const reason = (payload as { reason?: string }).reason ?? 'deferred';
      if (mine(payload)) finish({ admitted: false, why: reason });
    };
    // Neither answer: treat as deferred (the gate undoes an acquire whose outcome is unknown).
    const timer = setTimeout(() => finish({ admitted: false, why: 'no answer' }), 10_000);
    events.on(admittedEvent, onAdmitted);
    events.on(deferredEvent, onDeferred);
    events.emit(
      NAMES.retrying!,
      lifecycleEvent(task.model, task.taskId, task.token, task.expectedSeconds),
    );
  });
}

async function reacquireDirectly(
  gate: QueueGate,
  task: { model: string; taskId: string; expectedSeconds?: number },
): Promise<RetryOutcome> {
  try {
    const result = await gate.reacquire(task.model, task.taskId, {
      expectedSeconds: task.expectedSeconds,
    });
    if (!result.acquired) return { admitted: false, why: 'full' };
    return { admitted: true, token: tokenOf(result), leaseEnd: result.expiresAt! };
  } catch {
    return { admitted: false, why: 'unavailable' };
  }
}
