/**
 * The gate's metric names, in OpenTelemetry's dotted style; the Prometheus exporter writes
 * `queue_gate.acquires` as `queue_gate_acquires_total` and the acquire duration histogram as
 * `queue_gate_acquire_duration_bucket`, `_sum` and `_count` (in seconds, the unit given).
 */
export const METRIC_NAMES = {
  acquires: 'queue_gate.acquires',
  releases: 'queue_gate.releases',
  reclaimedLeases: 'queue_gate.reclaimed_leases',
  acquireDuration: 'queue_gate.acquire.duration',
  waitDuration: 'queue_gate.wait.duration',
  holdDuration: 'queue_gate.hold.duration',
  used: 'queue_gate.used',
  limit: 'queue_gate.limit',
  waiting: 'queue_gate.waiting',
  pendingReleases: 'queue_gate.pending_releases',
} as const;

/**
 * Attributes on the instruments. The tenant is left out on purpose: one series per tenant
 * would grow without bound.
 */
export const ATTRIBUTE_NAMES = {
  model: 'queue_gate.model',
  result: 'queue_gate.result',
  refusedBy: 'queue_gate.refused_by',
} as const;
