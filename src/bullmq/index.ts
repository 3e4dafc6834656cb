export {
  addGatedJob,
  type AddGatedJobOptions,
  type GatedJobAdded,
  type GatedJobRefused,
  type GatedJobResult,
} from './add-gated-job';
export {
  GATE_JOB_FIELD,
  gateJob,
  gateMarkOf,
  type GateJobArguments,
  type GateJobId,
  type GateJobMark,
  type MarkedJobData,
  type SlotOfJob,
} from './gate-job';
export {
  backoffDelayMs,
  fateOfFailedJob,
  type FailedJobFacts,
  type FailedJobFate,
  type KeepFailedJob,
  type ReleaseFailedJob,
} from './job-fate';
export { bullmqActiveTaskIds, type BullmqActiveTaskIdsOptions } from './queue-reconcile-source';
export { QueueGateBullListener } from './queue-gate-bull.listener';
export { QueueGateBullModule } from './queue-gate-bull.module';
export {
  QUEUE_GATE_BULL_OPTIONS,
  type GatedQueueOptions,
  type QueueGateBullOptions,
} from './queue-gate-bull.options';
