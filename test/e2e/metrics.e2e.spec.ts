import { Controller, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InvalidQueueGateOptionsError, QueueGateModule, QueueLimited } from '../../src';
import { PLATFORMS, post, startHttpApp, type HttpApp } from '../support/http-app';

@Controller()
class TasksController {
  @Post('tasks')
  @QueueLimited('metered-model', { release: 'event' })
  create() {
    return { ok: true };
  }
}

/** Prometheus text for one series, read from a scrape. */
function sample(scrape: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const wanted = Object.entries(labels).every(([key, value]) =>
      line.includes(`${key}="${value}"`),
    );
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * `metrics: true` records through the global provider of `@opentelemetry/api`: here a real SDK
 * whose Prometheus exporter serves the scrape, as an application would set it up.
 */
describe.each(PLATFORMS)('metrics option over HTTP (%s)', (platform) => {
  let app: HttpApp;
  let exporter: PrometheusExporter;
  let provider: MeterProvider;

  beforeAll(async () => {
    exporter = new PrometheusExporter({ preventServerStart: true });
    provider = new MeterProvider({ readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);
    app = await startHttpApp(platform, {
      controllers: [TasksController],
      gate: { metrics: true, limits: { 'metered-model': 2 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await provider.shutdown();
    metrics.disable();
  });

  async function scrape(): Promise<string> {
    const { resourceMetrics, errors } = await exporter.collect();
    expect(errors).toEqual([]);
    return new PrometheusSerializer().serialize(resourceMetrics);
  }

  it('counts admissions and refusals of a route and reads the gate into gauges', async () => {
    const replies = await Promise.all([1, 2, 3, 4].map(() => post(`${app.url}/tasks`)));
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 201, 429, 429]);

    const text = await scrape();
    const labels = { queue_gate_model: 'metered-model' };
    expect(
      sample(text, 'queue_gate_acquires_total', { ...labels, queue_gate_result: 'admitted' }),
    ).toBe(2);
    expect(
      sample(text, 'queue_gate_acquires_total', {
        ...labels,
        queue_gate_result: 'full',
        queue_gate_refused_by: 'model',
      }),
    ).toBe(2);
    expect(sample(text, 'queue_gate_used', labels)).toBe(2);
    expect(sample(text, 'queue_gate_limit', labels)).toBe(2);
    expect(text).toContain('queue_gate_acquire_duration');
  });
});

describe('metrics option', () => {
  it('is refused with a typed error naming the bad value', async () => {
    const module = Test.createTestingModule({
      imports: [QueueGateModule.forRoot({ store: 'memory', metrics: 'yes' as never })],
    });
    await expect(module.compile()).rejects.toThrow(InvalidQueueGateOptionsError);
    await expect(
      Test.createTestingModule({
        imports: [QueueGateModule.forRoot({ store: 'memory', metrics: 'yes' as never })],
      }).compile(),
    ).rejects.toThrow(/metrics.*"yes"/);
  });
});
