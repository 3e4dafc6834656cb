export { addGatedJob, type AddGatedJobOptions, type GatedJobResult } from './add-gated-job';
export { GATE_JOB_FIELD, gateJob, gateMarkOf, type GateJobMark, type SlotOfJob } from './gate-job';
export {
  backoffDelayMs,
  fateOfFailedJob,
  type FailedJobFacts,
  type FailedJobFate,
} from './job-fate';
export { bullmqActiveTaskIds, type BullmqActiveTaskIdsOptions } from './queue-reconcile-source';
export { QueueGateBullListener } from './queue-gate-bull.listener';
export { QueueGateBullModule } from './queue-gate-bull.module';
export {
  QUEUE_GATE_BULL_OPTIONS,
  type GatedQueueOptions,
  type QueueGateBullOptions,
} from './queue-gate-bull.options';
