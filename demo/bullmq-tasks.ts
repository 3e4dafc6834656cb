import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { gateJob } from '../src/bullmq';
import { DEMO_SETTINGS } from './demo.constants';
import type { DemoSettings } from './demo.settings';
import type { Task } from './task';
import { TaskDispatcher } from './task-dispatcher';
import { TaskRepository } from './task.repository';

/** The BullMQ queue of the demo's tasks (with `REDIS_URL`). */
export const DEMO_QUEUE = 'demo-tasks';

/** Adds an admitted task as a job that runs in its slot; BullMQ retries failed runs. */
@Injectable()
export class BullDispatcher extends TaskDispatcher {
  constructor(
    @InjectQueue(DEMO_QUEUE) private readonly queue: Queue,
    @Inject(DEMO_SETTINGS) private readonly settings: DemoSettings,
  ) {
    super();
  }

  async dispatch(task: Task): Promise<void> {
    const slot = { model: task.model, taskId: task.id, token: task.slotToken };
    const { data, opts } = gateJob(
      slot,
      { taskId: task.id },
      {
        attempts: this.settings.maxAttempts,
        backoff: 500,
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
    await this.queue.add('run', data, opts);
  }
}

/**
 * The simulated GPU worker as a BullMQ processor: no lifecycle code here, the gate follows the
 * job through nestjs-queue-gate/bullmq (released when done for good, kept over retries).
 */
@Processor(DEMO_QUEUE)
export class TaskProcessor extends WorkerHost {
  constructor(
    private readonly tasks: TaskRepository,
    @Inject(DEMO_SETTINGS) private readonly settings: DemoSettings,
  ) {
    super();
  }

  async process(job: Job<{ taskId: string }>): Promise<void> {
    const task = this.tasks.find(job.data.taskId);
    if (task) {
      this.tasks.setState(task, 'running');
      task.attempts++;
    }
    const [shortest, longest] = this.settings.taskMs;
    await new Promise((resolve) =>
      setTimeout(resolve, shortest + Math.random() * (longest - shortest)),
    );
    if (Math.random() < this.settings.failureRate) throw new Error('simulated GPU failure');
  }

  @OnWorkerEvent('completed')
  completed(job: Job<{ taskId: string }>): void {
    this.end(job, 'succeeded');
  }

  @OnWorkerEvent('failed')
  failed(job: Job<{ taskId: string }> | undefined): void {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    this.end(job, final ? 'failed' : 'queued');
  }

  private end(job: Job<{ taskId: string }>, state: Task['state']): void {
    const task = this.tasks.find(job.data.taskId);
    if (task) this.tasks.setState(task, state);
  }
}
