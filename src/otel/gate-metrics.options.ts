/** Options of the gate's OpenTelemetry metrics (`metrics` module option). */
export interface GateMetricsOptions {
  /**
   * Where the meter comes from. Default: the global provider of `@opentelemetry/api`, which
   * records nothing until the application registers an SDK.
   */
  meterProvider?: {
    /** Returns the meter of an instrumentation scope (the gate's is `nestjs-queue-gate`). */
    getMeter(name: string, version?: string): unknown;
  };
  /**
   * Observe `queue_gate.used` and `queue_gate.limit` per model, read from the store (one
   * snapshot per collection, at most `gaugeModels` gates). Default true.
   */
  gauges?: boolean;
  /** Most gates the gauges report per collection. Default 1000. */
  gaugeModels?: number;
}
