import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The demo's OpenTelemetry SDK: a meter provider whose one reader is the Prometheus exporter,
 * scraped through the demo's own `GET /metrics` rather than a second port. An application
 * would more often register a global provider (the NodeSDK) and pass `metrics: true`.
 */
export class DemoMetrics {
  readonly exporter = new PrometheusExporter({ preventServerStart: true });
  readonly provider = new MeterProvider({ readers: [this.exporter] });
}
