import type { Job, JobType, Queue } from 'bullmq';
import { gateMarkOf } from './gate-job';

/** Options of {@link bullmqActiveTaskIds}. */
export interface BullmqActiveTaskIdsOptions {
  /** The gate of a job that carries neither a `gateJob` mark nor `data.model`. */
  modelOf?: (job: Job) => string | undefined;
  /** Jobs read per state and per call to Redis. Default 500. */
  pageSize?: number;
  /**
   * The most jobs the queue may hold in the states read. Past it the call throws rather than
   * return a partial list (from which reconcile would remove live holders). Default 10 000.
   */
  maxJobs?: number;
}

/**
 * The states of a job that still holds its slot: not yet run, running, or between two
 * attempts. `waiting` brings `paused` with it.
 */
const LIVE_STATES: JobType[] = ['waiting-children', 'delayed', 'prioritized', 'waiting', 'active'];

/**
 * The ids of the jobs of `queue` that hold a slot of gate `model`: the jobs waiting (and
 * paused), waiting for children, delayed (a retry's backoff included), prioritized or active,
 * whose model (their `gateJob` mark, else `job.data.model`, else `modelOf`) is `model`. A job
 * added with `gateJob` has its slot's task id as its id. A reconcile source:
 *
 * ```ts
 * reconcile: { everySeconds: 60, models: ['video'], activeTaskIds: (model) => bullmqActiveTaskIds(queue, model) }
 * ```
 *
 * Each page is one atomic read of all the states; a queue longer than a page is read over
 * several, between which a job may change state and be missed. Reconcile through the module's
 * `reconcile` option, which removes a holder only when it was unknown two rounds in a row.
 * Throws when the queue holds more than `maxJobs` jobs in these states.
 */
export async function bullmqActiveTaskIds(
  queue: Queue,
  model: string,
  options: BullmqActiveTaskIdsOptions = {},
): Promise<string[]> {
  const pageSize = positiveInteger('pageSize', options.pageSize ?? 500);
  const maxJobs = positiveInteger('maxJobs', options.maxJobs ?? 10_000);
  const tooMany = (count: number) =>
    new Error(
      `BullMQ queue "${queue.name}" holds ${count} or more live jobs, more than maxJobs ` +
        `(${maxJobs}): its task ids are not read, as a partial list would remove live holders.`,
    );
  const counts = await queue.getJobCounts(...LIVE_STATES, 'paused');
  const counted = Object.values(counts).reduce((sum, count) => sum + count, 0);
  if (counted > maxJobs) throw tooMany(counted);

  const seen = new Set<string>();
  const ids: string[] = [];
  for (let start = 0; ; start += pageSize) {
    // One script reads this range of every state at once (`waiting` brings `paused`).
    const page = await queue.getJobs(LIVE_STATES, start, start + pageSize - 1, true);
    if (page.length === 0) break;
    for (const job of page) {
      if (!job || job.id === undefined || seen.has(job.id)) continue;
      seen.add(job.id);
      if (seen.size > maxJobs) throw tooMany(seen.size);
      if (modelOfJob(job, options.modelOf) === model) ids.push(job.id);
    }
  }
  return ids;
}

function modelOfJob(job: Job, modelOf: ((job: Job) => string | undefined) | undefined) {
  const mark = gateMarkOf(job.data);
  if (mark) return mark.model;
  const model = (job.data as { model?: unknown } | undefined)?.model;
  if (typeof model === 'string') return model;
  return modelOf?.(job);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`bullmqActiveTaskIds: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
