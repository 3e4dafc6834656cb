/**
 * `nestjs-queue-gate/otel`: the gate's OpenTelemetry instruments, for a `QueueGate` used without
 * Nest (the Nest module turns them on with its `metrics` option).
 */
export { GateMetrics, type MeteredGate } from './gate-metrics';
export type { GateMetricsOptions } from './gate-metrics.options';
export { ATTRIBUTE_NAMES, METRIC_NAMES } from './metric-names';
