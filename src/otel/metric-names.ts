/**
 * The gate's metric names, in OpenTelemetry's dotted style; the Prometheus exporter writes
 * `queue_gate.acquires` as `queue_gate_acquires_total` and the acquire duration histogram as
 * `queue_gate_acquire_duration_bucket`, `_sum` and `_count` (in seconds, the unit given).
 */
export const METRIC_NAMES = {
  /** Counter of acquire calls, by model, result and refusing limit. */
  acquires: 'queue_gate.acquires',
  /** Counter of releases, by model and result. */
  releases: 'queue_gate.releases',
  /** Counter of ended leases acquires reclaimed, by model. */
  reclaimedLeases: 'queue_gate.reclaimed_leases',
  /** Histogram of whole acquire calls, in seconds. */
  acquireDuration: 'queue_gate.acquire.duration',
  /** Histogram of time spent in a gate's queue, in seconds. */
  waitDuration: 'queue_gate.wait.duration',
  /** Histogram of admission to release, in seconds. */
  holdDuration: 'queue_gate.hold.duration',
  /** Gauge of units in use, read from the store. */
  used: 'queue_gate.used',
  /** Gauge of the limit the module options give a gate. */
  limit: 'queue_gate.limit',
  /** Gauge of calls waiting in a gate's queue, read from the store. */
  waiting: 'queue_gate.waiting',
  /** Gauge of this instance's releases waiting to be retried. */
  pendingReleases: 'queue_gate.pending_releases',
} as const;

/**
 * Attributes on the instruments. The tenant is left out on purpose: one series per tenant
 * would grow without bound.
 */
export const ATTRIBUTE_NAMES = {
  /** The gate (model). */
  model: 'queue_gate.model',
  /** The acquire's or the release's result. */
  result: 'queue_gate.result',
  /** Which limit refused an acquire: `model` or `tenant`. */
  refusedBy: 'queue_gate.refused_by',
} as const;
