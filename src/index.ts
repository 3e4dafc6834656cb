export * from './core/errors';
export type { DoctorFinding, DoctorSeverity } from './core/doctor';
export * from './nest/errors';
export {
  DEFAULT_KEY_PREFIX,
  gateChannel,
  gateKey,
  gateQueueKey,
  gateTokensKey,
} from './store/redis/gate-key';
export type { GateLogger } from './core/gate-logger';
export type * from './core/gate-results';
export type * from './core/gate-observer';
export type { KeepAliveHandle } from './core/lease-keep-alive';
export { DEFAULT_LEASE_POLICY, leaseMilliseconds, type LeasePolicy } from './core/lease-policy';
export type { GateLimit, LimitSource, ModelLimits, ModelLimitsEntry } from './core/limit-source';
export { MAX_LEASE_MS, MAX_LIMIT, MAX_TIMER_MS } from './core/limits';
export {
  DEFAULT_PENDING_RELEASE_OPTIONS,
  type PendingReleaseCounts,
  type PendingReleaseOptions,
} from './core/pending-release-queue';
export { REQUEST_BOUND_HOLDER_PREFIX } from './core/request-bound';
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_WAITER_LEASE_MS,
  type DurabilityOptions,
  QueueGate,
  type QueueGateConfig,
  type WaitingOptions,
} from './core/queue-gate';
export * from './core/gate-store';
export { MemoryGateStore } from './store/memory/memory-gate-store';
export { RedisGateStore, type RedisGateStoreOptions } from './store/redis/redis-gate-store';
export { QUEUE_GATE_OPTIONS } from './nest/queue-gate.constants';
export { QueueGateModule } from './nest/queue-gate.module';
export type * from './nest/queue-gate.options';
export { QueueGateService } from './nest/queue-gate.service';
export { ResponseSlotRegistry } from './nest/response-slot-registry';
export * from './nest/task-lifecycle.events';
export type { GateSlotInfo } from './nest/gate-slot';
export { GateSlot } from './nest/gate-slot.decorator';
export { ClientClosedRequestException } from './nest/client-closed-request.exception';
export { type GateFullDetails, QueueGateFullException } from './nest/queue-gate-full.exception';
export { QueueGateUnavailableException } from './nest/queue-gate-unavailable.exception';
export { RequestAlreadyAnsweredException } from './nest/request-already-answered.exception';
export { REQUEST_SLOT, RequestSlot, type SlotReleaser } from './nest/request-slot';
export { findRequestSlot } from './nest/find-request-slot';
export { type ClientWatch, QueueGateGuard, type GateHttpPair } from './nest/queue-gate.guard';
export { QueueGateInterceptor } from './nest/queue-gate.interceptor';
export { QueueLimited, SkipQueueGate } from './nest/queue-limited.decorator';
export type { ModelSource } from './nest/queue-limited.metadata';
export { rateLimitHeaders, type TenantQuota } from './nest/rate-limit-headers';
export type { LifecycleEmitter } from './nest/lifecycle-emitter';
export { ScheduledReconciler } from './nest/scheduled-reconciler';
export { TaskLifecycleListener } from './nest/task-lifecycle.listener';
