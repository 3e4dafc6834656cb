import type { Job } from 'bullmq';

/** How the jobs of one queue map to gates. */
export interface GatedQueueOptions {
  /**
   * The gate (model) of a job. Default: the model the job's `gateJob` mark names, else
   * `job.data.model`.
   */
  model?: (job: Job) => string | undefined;
  /** Expected run time of a job in seconds, for its lease while active. Default: the gate's. */
  expectedSeconds?: (job: Job) => number | undefined;
}

/** Options of `QueueGateBullModule.forRoot`. */
export interface QueueGateBullOptions {
  /**
   * The queues whose `@Processor` workers the gate follows: their names, or a map of name to
   * options.
   */
  queues: readonly string[] | Readonly<Record<string, GatedQueueOptions>>;
}

/** Injection token of the {@link QueueGateBullOptions}. */
export const QUEUE_GATE_BULL_OPTIONS = Symbol('QueueGateBullOptions');
