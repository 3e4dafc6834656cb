// Types only: the package loads `@opentelemetry/api` at run time only when metrics are on.
import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
} from '@opentelemetry/api';
import type { AcquireObservation, GateObserver, ReleaseObservation } from '../core/gate-observer';
import type { GateSnapshotPage, SnapshotOptions } from '../core/gate-results';
import type { PendingReleaseCounts } from '../core/pending-release-queue';
import { METRIC_NAMES, ATTRIBUTE_NAMES } from './metric-names';

/** What the gauges read: a gate's snapshot and its retry queue. */
export interface MeteredGate {
  /** One page of every gate under the prefix (see `QueueGate.snapshot`). */
  snapshot(options?: SnapshotOptions): Promise<GateSnapshotPage>;
  /** This instance's retry queue of releases (see `QueueGate.pendingReleases`). */
  pendingReleases(): PendingReleaseCounts;
}

/** Bucket bounds in seconds, from a loopback Redis round trip up to long waits and holds. */
const ACQUIRE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LONG_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Gates one snapshot page reads while the gauges are collected. */
const SNAPSHOT_PAGE = 500;

/**
 * The gate's OpenTelemetry instruments: counters and histograms fed by the gate's observer
 * calls, and gauges read from the store when the SDK collects. Names and attributes are listed
 * in docs/OPERATING.md.
 */
export class GateMetrics implements GateObserver {
  private readonly acquires: Counter;
  private readonly releases: Counter;
  private readonly reclaimed: Counter;
  private readonly acquireDuration: Histogram;
  private readonly waitDuration: Histogram;
  private readonly holdDuration: Histogram;
  private readonly used: ObservableGauge;
  private readonly limit: ObservableGauge;
  private readonly waiting: ObservableGauge;
  private readonly pending: ObservableGauge;
  private gate: MeteredGate | undefined;

  constructor(
    private readonly meter: Meter,
    private readonly options: { gauges?: boolean; gaugeModels?: number } = {},
  ) {
    this.acquires = meter.createCounter(METRIC_NAMES.acquires, {
      description: 'Acquire calls, by result.',
      unit: '{acquire}',
    });
    this.releases = meter.createCounter(METRIC_NAMES.releases, {
      description:
        'Releases, by result; a queued release is counted again when it lands or is dropped.',
      unit: '{release}',
    });
    this.reclaimed = meter.createCounter(METRIC_NAMES.reclaimedLeases, {
      description: 'Ended leases reclaimed by acquires: slots whose release never came.',
      unit: '{lease}',
    });
    this.acquireDuration = meter.createHistogram(METRIC_NAMES.acquireDuration, {
      description: 'Duration of acquire calls, waiting included.',
      unit: 's',
      advice: { explicitBucketBoundaries: ACQUIRE_BUCKETS },
    });
    this.waitDuration = meter.createHistogram(METRIC_NAMES.waitDuration, {
      description: 'Time acquire calls spent in a gate queue (calls with a wait only).',
      unit: 's',
      advice: { explicitBucketBoundaries: LONG_BUCKETS },
    });
    this.holdDuration = meter.createHistogram(METRIC_NAMES.holdDuration, {
      description: 'Time from admission to release, for slots admitted and released here.',
      unit: 's',
      advice: { explicitBucketBoundaries: LONG_BUCKETS },
    });
    this.used = meter.createObservableGauge(METRIC_NAMES.used, {
      description: 'Units of a gate in use, read from the store (the same for every instance).',
      unit: '{unit}',
    });
    this.limit = meter.createObservableGauge(METRIC_NAMES.limit, {
      description: 'Limit of a gate, in units (gates with a limit only).',
      unit: '{unit}',
    });
    this.waiting = meter.createObservableGauge(METRIC_NAMES.waiting, {
      description: 'Calls waiting in a gate queue, read from the store.',
      unit: '{request}',
    });
    this.pending = meter.createObservableGauge(METRIC_NAMES.pendingReleases, {
      description: 'Releases this instance is retrying because the store could not be reached.',
      unit: '{release}',
    });
  }

  /** Starts the gauges on `gate`: they read it each time the SDK collects. */
  watch(gate: MeteredGate): void {
    this.gate = gate;
    this.pending.addCallback((result) => result.observe(gate.pendingReleases().queued));
    if (this.options.gauges === false) return;
    this.meter.addBatchObservableCallback(
      (result) => this.observeGates(result),
      [this.used, this.limit, this.waiting],
    );
  }

  /** Counts the call by result, and records its duration, its wait and its reclaimed leases. */
  onAcquire(observation: AcquireObservation): void {
    const attributes: Attributes = {
      [ATTRIBUTE_NAMES.model]: observation.model,
      [ATTRIBUTE_NAMES.result]: observation.outcome,
    };
    if (observation.refusedBy !== null) {
      attributes[ATTRIBUTE_NAMES.refusedBy] = observation.refusedBy;
    }
    this.acquires.add(1, attributes);
    this.acquireDuration.record(observation.durationMs / 1000, attributes);
    if (observation.waitedMs > 0) {
      this.waitDuration.record(observation.waitedMs / 1000, attributes);
    }
    if (observation.reclaimed > 0) {
      this.reclaimed.add(observation.reclaimed, { [ATTRIBUTE_NAMES.model]: observation.model });
    }
  }

  /** Counts the release by result, and records the hold time when it is known. */
  onRelease(observation: ReleaseObservation): void {
    this.releases.add(1, {
      [ATTRIBUTE_NAMES.model]: observation.model,
      [ATTRIBUTE_NAMES.result]: observation.outcome,
    });
    if (observation.heldMs !== null) {
      this.holdDuration.record(observation.heldMs / 1000, {
        [ATTRIBUTE_NAMES.model]: observation.model,
      });
    }
  }

  /**
   * Pages through the gates under the prefix up to `gaugeModels`. A store that cannot be read
   * reports nothing this time rather than zeros that would look like an idle gate.
   */
  private async observeGates(result: BatchObservableResult): Promise<void> {
    const gate = this.gate;
    if (!gate) return;
    const most = this.options.gaugeModels ?? 1000;
    let cursor: string | undefined;
    let seen = 0;
    try {
      do {
        const page = await gate.snapshot({ cursor, count: SNAPSHOT_PAGE });
        for (const state of page.gates) {
          if (seen++ >= most) return;
          const attributes = { [ATTRIBUTE_NAMES.model]: state.model };
          result.observe(this.used, state.used, attributes);
          result.observe(this.waiting, state.waiting, attributes);
          if (state.limit !== null) result.observe(this.limit, state.limit, attributes);
        }
        cursor = page.cursor ?? undefined;
      } while (cursor !== undefined);
    } catch {
      // Unreachable store: no reading this round; the acquire counters show the outage.
    }
  }
}
