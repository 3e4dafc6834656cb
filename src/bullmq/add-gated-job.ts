import { randomUUID } from 'node:crypto';
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { AcquireOptions, AcquireResult } from '../core/gate-results';
import type { QueueGate } from '../core/queue-gate';
import { gateJob } from './gate-job';

/** Options of {@link addGatedJob}: the job's options, and how to take its slot. */
export interface AddGatedJobOptions extends Omit<JobsOptions, 'jobId'> {
  /** How the slot is taken (wait, tenant, cost, expected duration); its task id is the job's. */
  acquire?: Omit<AcquireOptions, 'taskId'>;
}

/** What {@link addGatedJob} did: the job, or the refusal of the gate. */
export type GatedJobResult<T> = GatedJobAdded<T> | GatedJobRefused;

/** The job was added in its slot. */
export interface GatedJobAdded<T> {
  /** Added. */
  added: true;
  /** The job; its id is the slot's task id. */
  job: Job<T>;
  /** The slot the job runs in. */
  slot: AcquireResult;
}

/** The gate refused: nothing was added. */
export interface GatedJobRefused {
  /** Not added. */
  added: false;
  /** No job. */
  job: null;
  /** The refusal, with `refusedBy`, `used` and `limit`. */
  slot: AcquireResult;
}

/**
 * Takes a slot of `model` and adds the job in it, for producers that run outside a
 * `@QueueLimited` route (a job added without a slot is not counted by the gate). When the gate
 * refuses, nothing is added; when adding fails, the slot goes back (fenced to it) and the error
 * is thrown.
 */
export async function addGatedJob<T extends object>(
  gate: QueueGate,
  queue: Queue,
  model: string,
  name: string,
  data: T,
  options: AddGatedJobOptions = {},
): Promise<GatedJobResult<T>> {
  const { acquire, ...jobOptions } = options;
  const slot = await gate.acquire(model, { ...acquire, taskId: randomUUID() });
  if (!slot.acquired) return { added: false, job: null, slot };
  const marked = gateJob(slot, data, jobOptions);
  try {
    const job = (await queue.add(name, marked.data, marked.opts)) as Job<T>;
    return { added: true, job, slot };
  } catch (error) {
    await gate
      .release(model, slot.taskId, { token: slot.token ?? undefined })
      .catch(() => undefined);
    throw error;
  }
}
