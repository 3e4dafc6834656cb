import { Controller, Get, type OnApplicationShutdown, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DemoMetrics } from './demo-metrics';

/** `GET /metrics`: the gate's metrics in Prometheus text, written by the exporter itself. */
@Controller()
export class MetricsController implements OnApplicationShutdown {
  constructor(private readonly metrics: DemoMetrics) {}

  @Get('metrics')
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.metrics.exporter.getMetricsRequestHandler(request, response);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.provider.shutdown();
  }
}
