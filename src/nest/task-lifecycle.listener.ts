import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { GateUnavailableError } from '../core/errors/gate-unavailable.error';
import { StaleTokenError } from '../core/errors/stale-token.error';
import type { AcquireResult } from '../core/gate-results';
import type { LifecycleEmitter } from './lifecycle-emitter';
import { QUEUE_GATE_EVENT_EMITTER, QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';
import { QueueGateService } from './queue-gate.service';
import { eventNamesOf } from './event-names';
import { type RetryDeferredReason, TaskLifecycleEvent } from './task-lifecycle.events';
import { errorMessage } from '../core/errors/error-message';

type Handler = (payload: unknown) => Promise<boolean>;

/**
 * Ties the gate to the task lifecycle: `succeeded`, `failed` and `cancelled` release the
 * task's slot (fenced by the event's token when it has one); `retrying` takes it again as a
 * new admission and emits `retryAdmitted` with the new token, or `retryDeferred` with the
 * reason (full, unavailable) so the application keeps the task failed and tries later. Each
 * handler resolves to true when it did its job (read it with `emitAsync`) and never throws
 * into the emitter. Subscribes at bootstrap, since the event names come from the options, and
 * keeps listening until the application's last shutdown hook: workers finish their tasks in
 * their own `beforeApplicationShutdown`, and the events they emit there must still release.
 */
@Injectable()
export class TaskLifecycleListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('QueueGate');
  private readonly subscriptions: [string, Handler][] = [];

  constructor(
    private readonly gate: QueueGateService,
    @Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions,
    @Inject(QUEUE_GATE_EVENT_EMITTER) private readonly emitter: LifecycleEmitter | null,
  ) {}

  /**
   * Subscribes to the lifecycle events (names from the `events` option) when an event emitter is
   * present.
   */
  onApplicationBootstrap(): void {
    if (!this.emitter) return;
    const names = eventNamesOf(this.options);
    const release = (event: string) => this.guarded(event, (task) => this.release(event, task));
    this.subscribe(names.succeeded, release(names.succeeded));
    this.subscribe(names.failed, release(names.failed));
    this.subscribe(names.cancelled, release(names.cancelled));
    this.subscribe(
      names.retrying,
      this.guarded(names.retrying, (task) => this.retry(task)),
    );
  }

  /** Unsubscribes, in the last shutdown hook: events emitted while workers drain still release. */
  onApplicationShutdown(): void {
    for (const [event, handler] of this.subscriptions.splice(0)) this.emitter?.off(event, handler);
  }

  private subscribe(event: string, handler: Handler): void {
    this.emitter!.on(event, handler);
    this.subscriptions.push([event, handler]);
  }

  private async release(event: string, task: TaskLifecycleEvent): Promise<boolean> {
    try {
      await this.gate.release(task.model, task.taskId, { token: task.token });
      return true;
    } catch (error) {
      if (!(error instanceof StaleTokenError)) throw error;
      // A late event of a run that is over (the task was retried since): nothing to undo, and
      // nothing wrong with the gate, so not an error.
      this.logger.log(
        `Event "${event}" for task "${task.taskId}" on gate "${task.model}": stale release ` +
          `ignored (token ${error.token}; the task holds ${error.currentToken} now).`,
      );
      return false;
    }
  }

  private async retry(task: TaskLifecycleEvent): Promise<boolean> {
    const names = eventNamesOf(this.options);
    let result: AcquireResult;
    try {
      result = await this.gate.reacquire(task.model, task.taskId, {
        expectedSeconds: task.expectedSeconds,
      });
    } catch (error) {
      // The gate undoes a re-acquire whose answer was lost; the application only waits.
      if (!(error instanceof GateUnavailableError)) throw error;
      this.defer(task, 'unavailable');
      this.logger.warn(`Retry of task "${task.taskId}" deferred: ${error.message}`);
      return false;
    }
    if (!result.acquired) {
      this.defer(task, 'full');
      return false;
    }
    const admitted = new TaskLifecycleEvent(task.model, task.taskId, {
      token: result.token!,
      expectedSeconds: task.expectedSeconds,
    });
    this.emitter!.emit(names.retryAdmitted, admitted);
    return true;
  }

  private defer(task: TaskLifecycleEvent, reason: RetryDeferredReason): void {
    const deferred = new TaskLifecycleEvent(task.model, task.taskId, {
      expectedSeconds: task.expectedSeconds,
      reason,
    });
    this.emitter!.emit(eventNamesOf(this.options).retryDeferred, deferred);
  }

  /** Checks the payload and turns every failure into a log line and `false`. */
  private guarded(event: string, work: (task: TaskLifecycleEvent) => Promise<boolean>): Handler {
    return async (payload) => {
      const task = asTask(payload);
      if (!task) {
        this.logger.error(
          `Event "${event}" ignored: its payload must carry string model and taskId ` +
            `(a TaskLifecycleEvent), got ${JSON.stringify(payload)}.`,
        );
        return false;
      }
      try {
        return await work(task);
      } catch (error) {
        const cause = errorMessage(error);
        const line = `Event "${event}" for task "${task.taskId}" on gate "${task.model}" failed: ${cause}`;
        // A release the gate queued will still land: a warning, not an error.
        if (error instanceof GateUnavailableError && error.releaseQueued) this.logger.warn(line);
        else this.logger.error(line);
        return false;
      }
    };
  }
}

/** The event of a payload: a TaskLifecycleEvent or a plain object with the same fields. */
function asTask(payload: unknown): TaskLifecycleEvent | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { model, taskId, token, expectedSeconds } = payload as Partial<TaskLifecycleEvent>;
  if (typeof model !== 'string' || typeof taskId !== 'string') return undefined;
  return new TaskLifecycleEvent(model, taskId, { token, expectedSeconds });
}
