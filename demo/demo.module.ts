import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { QueueGateModule } from '../src';
import { QueueGateBullModule } from '../src/bullmq';
import { BullDispatcher, DEMO_QUEUE, TaskProcessor } from './bullmq-tasks';
import { DEMO_SETTINGS } from './demo.constants';
import type { DemoSettings } from './demo.settings';
import { GatesController } from './gates.controller';
import { LiveFeed } from './live/live-feed';
import { LiveController } from './live/live.controller';
import { DemoMetrics } from './metrics/demo-metrics';
import { MetricsController } from './metrics/metrics.controller';
import { TaskRepository } from './task.repository';
import { PoolDispatcher, TaskDispatcher } from './task-dispatcher';
import { TasksController } from './tasks.controller';
import { WorkerPool } from './worker-pool';

/**
 * The demo model gateway: task routes behind the gate, per-model limits, and workers. In memory
 * (one process) a worker pool ends tasks through the lifecycle events; with `REDIS_URL`, tasks
 * are BullMQ jobs and the gate follows them through nestjs-queue-gate/bullmq.
 */
@Module({})
export class DemoModule {
  static forRoot(settings: DemoSettings): DynamicModule {
    const bull = settings.redisUrl ? bullParts(settings.redisUrl, settings.keyPrefix) : undefined;
    // One feed per app: the gate reports to it, the live page reads it.
    const feed = new LiveFeed();
    const metrics = new DemoMetrics();
    return {
      module: DemoModule,
      imports: [
        EventEmitterModule.forRoot(),
        QueueGateModule.forRoot({
          // No Redis configured: one process, so the memory store is exact.
          ...(settings.redisUrl ? { redis: { url: settings.redisUrl } } : { store: 'memory' }),
          keyPrefix: settings.keyPrefix,
          limits: settings.limits,
          observers: [feed],
          metrics: { meterProvider: metrics.provider },
        }),
        ...(bull?.imports ?? []),
      ],
      controllers: [TasksController, GatesController, LiveController, MetricsController],
      providers: [
        { provide: DEMO_SETTINGS, useValue: settings },
        { provide: LiveFeed, useValue: feed },
        { provide: DemoMetrics, useValue: metrics },
        TaskRepository,
        ...(bull?.providers ?? [WorkerPool, { provide: TaskDispatcher, useClass: PoolDispatcher }]),
      ],
    };
  }
}

/** BullMQ on the gate's Redis: the demo's queue, its processor, and the gate following it. */
function bullParts(redisUrl: string, keyPrefix: string) {
  const url = new URL(redisUrl);
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username || undefined,
    password: url.password || undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
  const providers: Provider[] = [
    TaskProcessor,
    { provide: TaskDispatcher, useClass: BullDispatcher },
  ];
  return {
    imports: [
      BullModule.forRoot({ connection, prefix: `${keyPrefix}bull` }),
      BullModule.registerQueue({ name: DEMO_QUEUE }),
      QueueGateBullModule.forRoot({ queues: [DEMO_QUEUE] }),
    ],
    providers,
  };
}
