import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import type { Job, Worker } from 'bullmq';
import type { KeepAliveHandle } from '../core/lease-keep-alive';
import { errorMessage } from '../core/errors/error-message';
import { QueueGateService } from '../nest/queue-gate.service';
import { gateMarkOf } from './gate-job';
import { backoffDelayMs, fateOfFailedJob } from './job-fate';
import {
  type GatedQueueOptions,
  QUEUE_GATE_BULL_OPTIONS,
  type QueueGateBullOptions,
} from './queue-gate-bull.options';

/** Where `@Processor()` of `@nestjs/bullmq` records its queue (`bullmq:processor_metadata`). */
const PROCESSOR_METADATA = 'bullmq:processor_metadata';

/** The gate of one job: its model, holder id and token. */
interface JobSlot {
  model: string;
  taskId: string;
  token: number | undefined;
}

/**
 * Follows the workers of the `@Processor` classes of the configured queues and keeps the gate
 * in step with their jobs: `active` renews the job's lease (and keeps it alive while it runs),
 * `completed` and a final `failed` release the slot, a `failed` that BullMQ will retry keeps it
 * past the backoff, `stalled` keeps it (the job goes back to waiting). Every release and
 * extend carries the slot's token, from the job's `gateJob` mark.
 */
@Injectable()
export class QueueGateBullListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('QueueGate');
  private readonly keepers = new Map<string, KeepAliveHandle>();
  private readonly detach: (() => void)[] = [];

  private gate!: QueueGateService;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
    @Inject(QUEUE_GATE_BULL_OPTIONS) private readonly options: QueueGateBullOptions,
  ) {}

  /** Finds the workers of the configured queues and follows their jobs. */
  onApplicationBootstrap(): void {
    // Found wherever QueueGateModule was imported, global or not.
    this.gate = this.moduleRef.get(QueueGateService, { strict: false });
    const queues = queueOptions(this.options);
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as { worker?: Worker } | undefined;
      const type = (wrapper.metatype ?? instance?.constructor) as object | undefined;
      if (!instance || !type) continue;
      const metadata = Reflect.getMetadata(PROCESSOR_METADATA, type) as
        { name?: string } | undefined;
      const name = metadata?.name;
      if (name === undefined || !(name in queues)) continue;
      const worker = instance.worker;
      if (!worker) continue;
      this.follow(worker, queues[name]);
      this.logger.log(`Queue gate follows the jobs of BullMQ queue "${name}".`);
    }
  }

  /** Stops following the workers and keeping leases alive. */
  onApplicationShutdown(): void {
    for (const detach of this.detach.splice(0)) detach();
    for (const keeper of this.keepers.values()) keeper.stop();
    this.keepers.clear();
  }

  private follow(worker: Worker, options: GatedQueueOptions): void {
    const onActive = (job: Job) => this.active(job, options);
    const onCompleted = (job: Job) => this.finished(job, options);
    const onFailed = (job: Job | undefined, error: Error) => {
      if (job) this.failed(job, error, options);
    };
    worker.on('active', onActive);
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    this.detach.push(() => {
      worker.off('active', onActive);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    });
  }

  private active(job: Job, options: GatedQueueOptions): void {
    const slot = this.slotOf(job, options);
    if (!slot) return;
    const expectedSeconds = options.expectedSeconds?.(job);
    const id = keyOf(slot);
    this.keepers.get(id)?.stop();
    this.keepers.set(
      id,
      this.gate.keepAlive(slot.model, slot.taskId, { token: slot.token, expectedSeconds }),
    );
    this.settle(
      this.gate.extend(slot.model, slot.taskId, { token: slot.token, expectedSeconds }),
      'extend',
      slot,
    );
  }

  private finished(job: Job, options: GatedQueueOptions): void {
    const slot = this.slotOf(job, options);
    if (!slot) return;
    this.stopKeeping(slot);
    this.settle(this.gate.release(slot.model, slot.taskId, { token: slot.token }), 'release', slot);
  }

  private failed(job: Job, error: Error, options: GatedQueueOptions): void {
    const slot = this.slotOf(job, options);
    if (!slot) return;
    this.stopKeeping(slot);
    const attemptsMade = job.attemptsMade;
    const fate = fateOfFailedJob({
      attemptsMade,
      attempts: job.opts.attempts ?? 1,
      finishedOn: job.finishedOn,
      errorName: error?.name,
      backoffMs: backoffDelayMs(job.opts.backoff, attemptsMade),
    });
    if (fate.fate === 'release') {
      this.settle(
        this.gate.release(slot.model, slot.taskId, { token: slot.token }),
        'release',
        slot,
      );
      return;
    }
    // The retry runs after the backoff: the slot must outlive it and the next run.
    const expected = options.expectedSeconds?.(job);
    this.settle(
      this.gate.extend(slot.model, slot.taskId, {
        token: slot.token,
        expectedSeconds: expected === undefined ? undefined : expected + fate.backoffMs / 1000,
      }),
      'extend',
      slot,
    );
  }

  private slotOf(job: Job, options: GatedQueueOptions): JobSlot | undefined {
    if (job.id === undefined) return undefined;
    const mark = gateMarkOf(job.data);
    const model =
      options.model?.(job) ?? mark?.model ?? (job.data as { model?: unknown } | undefined)?.model;
    if (typeof model !== 'string') return undefined;
    return { model, taskId: job.id, token: mark?.token ?? undefined };
  }

  private stopKeeping(slot: JobSlot): void {
    const id = keyOf(slot);
    this.keepers.get(id)?.stop();
    this.keepers.delete(id);
  }

  /** A failed release is queued by the gate itself; nothing escapes into the worker. */
  private settle(work: Promise<unknown>, what: string, slot: JobSlot): void {
    work.catch((error: unknown) =>
      this.logger.warn(
        `Queue gate "${slot.model}": ${what} for job "${slot.taskId}" failed: ${errorMessage(error)}`,
      ),
    );
  }
}

function queueOptions(options: QueueGateBullOptions): Record<string, GatedQueueOptions> {
  const { queues } = options;
  if (Array.isArray(queues)) return Object.fromEntries(queues.map((name: string) => [name, {}]));
  return { ...(queues as Record<string, GatedQueueOptions>) };
}

function keyOf(slot: JobSlot): string {
  return JSON.stringify([slot.model, slot.taskId]);
}
