import { Worker } from 'bullmq';

/**
 * A child process of the stalled-worker test: a plain BullMQ worker on the queue named in
 * BULLMQ_STALL_CHILD (JSON: url, queue, prefix, lockDuration, stalledInterval: the
 * stalled check it runs at start throttles every worker's for that long) that takes a job, tells the
 * parent its id, and never ends it. The parent SIGKILLs it mid-job.
 */
const { url, queue, prefix, lockDuration, stalledInterval } = JSON.parse(
  process.env.BULLMQ_STALL_CHILD!,
) as {
  url: string;
  queue: string;
  prefix: string;
  lockDuration: number;
  stalledInterval: number;
};
const { hostname, port } = new URL(url);

const worker = new Worker(
  queue,
  async (job) => {
    process.send?.({ type: 'took', id: job.id });
    await new Promise<never>(() => undefined);
  },
  {
    connection: { host: hostname, port: Number(port) },
    prefix,
    lockDuration,
    stalledInterval,
    concurrency: 1,
  },
);
worker.on('error', () => undefined);
void worker.waitUntilReady().then(() => process.send?.({ type: 'ready' }));
