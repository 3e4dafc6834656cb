import type { Meter } from '@opentelemetry/api';
import { GateMetrics } from '../otel/gate-metrics';
import type { GateMetricsOptions } from '../otel/gate-metrics.options';
import { MissingDependencyError } from './errors/missing-dependency.error';
import { optionalRequire } from './optional-require';

/** The optional peer the `metrics` option records through. */
export const OPENTELEMETRY_API_PACKAGE = '@opentelemetry/api';

/** The name the gate's meter is registered under (its instrumentation scope). */
export const METER_NAME = 'nestjs-queue-gate';

/**
 * The gate's instruments for the `metrics` option, or undefined when it is off. Without a
 * `meterProvider` they come from the global provider of `@opentelemetry/api`, which is loaded
 * only here: the package works without it while metrics are off.
 */
export function createGateMetrics(
  option: boolean | GateMetricsOptions | undefined,
): GateMetrics | undefined {
  if (!option) return undefined;
  const options = option === true ? {} : option;
  let provider = options.meterProvider;
  if (!provider) {
    const api = optionalRequire<{ metrics: NonNullable<GateMetricsOptions['meterProvider']> }>(
      OPENTELEMETRY_API_PACKAGE,
    );
    if (!api) {
      throw new MissingDependencyError(OPENTELEMETRY_API_PACKAGE, 'The metrics option');
    }
    provider = api.metrics;
  }
  return new GateMetrics(provider.getMeter(METER_NAME) as Meter, options);
}
