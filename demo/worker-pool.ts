import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { QUEUE_GATE_EVENTS, TaskLifecycleEvent } from '../src';
import { DEMO_SETTINGS } from './demo.constants';
import type { DemoSettings } from './demo.settings';
import type { Task } from './task';
import { TaskRepository } from './task.repository';

/**
 * A simulated GPU worker pool: runs queued tasks for a random time, fails some, and ends each
 * run through the gate's lifecycle events — `succeeded` or `failed` release the slot,
 * `retrying` takes it again (or is deferred while the model is full).
 */
@Injectable()
export class WorkerPool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerPool');
  private readonly timers = new Set<NodeJS.Timeout>();
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly tasks: TaskRepository,
    private readonly events: EventEmitter2,
    @Inject(DEMO_SETTINGS) private readonly settings: DemoSettings,
  ) {}

  onApplicationBootstrap(): void {
    // A retry is a new admission with a new token: later releases of the task carry that one.
    this.events.on(QUEUE_GATE_EVENTS.retryAdmitted, (event: TaskLifecycleEvent) => {
      const task = this.tasks.find(event.taskId);
      if (task && event.token !== undefined) task.slotToken = event.token;
    });
    this.poller = setInterval(() => void this.tick(), this.settings.pollMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.poller);
    this.timers.forEach(clearTimeout);
  }

  private async tick(): Promise<void> {
    for (const task of this.tasks.inState('queued')) this.run(task);
    for (const task of this.tasks.inState('failed')) {
      if (task.attempts < this.settings.maxAttempts) await this.retry(task);
    }
  }

  private run(task: Task): void {
    this.tasks.setState(task, 'running');
    task.attempts++;
    const [shortest, longest] = this.settings.taskMs;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        const failed = Math.random() < this.settings.failureRate;
        this.tasks.setState(task, failed ? 'failed' : 'succeeded');
        const event = failed ? QUEUE_GATE_EVENTS.failed : QUEUE_GATE_EVENTS.succeeded;
        const token = task.slotToken ?? undefined;
        this.events.emit(event, new TaskLifecycleEvent(task.model, task.id, { token }));
      },
      shortest + Math.random() * (longest - shortest),
    );
    this.timers.add(timer);
  }

  /** A failed task runs again only if the gate gives it a slot; otherwise it stays failed. */
  private async retry(task: Task): Promise<void> {
    const [admitted] = (await this.events.emitAsync(
      QUEUE_GATE_EVENTS.retrying,
      new TaskLifecycleEvent(task.model, task.id, { token: task.slotToken ?? undefined }),
    )) as boolean[];
    if (admitted && task.state === 'failed') {
      this.tasks.setState(task, 'queued');
      this.logger.log(`Retrying task ${task.id} of ${task.model} (attempt ${task.attempts + 1}).`);
    }
  }
}
