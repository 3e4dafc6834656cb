export { QueueGateTerminusModule } from './queue-gate-terminus.module';
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  QueueGateHealthIndicator,
  type QueueGateHealthDetails,
  type QueueGateHealthOptions,
} from './queue-gate.health-indicator';
