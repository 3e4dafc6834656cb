import type { Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/** A reader the test collects from on demand (no export schedule). */
class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A real OpenTelemetry SDK meter provider whose metrics a test reads when it likes. */
export interface CollectedMetrics {
  provider: MeterProvider;
  /** Collects now (gauges read the store) and returns the metrics by name. */
  collect(): Promise<Map<string, MetricData>>;
  /** Collects now and returns the metrics as the SDK groups them, by meter. */
  collectByScope(): Promise<{ resourceMetrics: ResourceMetrics }>;
  shutdown(): Promise<void>;
}

export function collectedMetrics(): CollectedMetrics {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
      return byName;
    },
    async collectByScope() {
      const { resourceMetrics } = await reader.collect();
      return { resourceMetrics };
    },
    shutdown: () => provider.shutdown(),
  };
}

function matches(point: Attributes, wanted: Attributes): boolean {
  return Object.entries(wanted).every(([key, value]) => point[key] === value);
}

/** The sum (counters, gauges) or count (histograms) of the data points with these attributes. */
export function valueOf(
  metrics: Map<string, MetricData>,
  name: string,
  attributes: Attributes = {},
): number {
  const metric = metrics.get(name);
  if (!metric) return 0;
  let total = 0;
  for (const point of metric.dataPoints) {
    if (!matches(point.attributes, attributes)) continue;
    const value = point.value as number | { count: number };
    total +=
      metric.dataPointType === DataPointType.HISTOGRAM
        ? (value as { count: number }).count
        : (value as number);
  }
  return total;
}

/** The sum of a histogram's recorded values with these attributes. */
export function histogramSum(
  metrics: Map<string, MetricData>,
  name: string,
  attributes: Attributes = {},
): number {
  const metric = metrics.get(name);
  if (!metric || metric.dataPointType !== DataPointType.HISTOGRAM) return 0;
  return metric.dataPoints
    .filter((point) => matches(point.attributes, attributes))
    .reduce((sum, point) => sum + (point.value.sum ?? 0), 0);
}
