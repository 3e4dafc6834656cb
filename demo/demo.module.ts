import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { QueueGateModule } from '../src';
import { DEMO_SETTINGS } from './demo.constants';
import type { DemoSettings } from './demo.settings';
import { GatesController } from './gates.controller';
import { TaskRepository } from './task.repository';
import { TasksController } from './tasks.controller';
import { WorkerPool } from './worker-pool';

/** The demo model gateway: task routes behind the gate, a worker pool, per-model limits. */
@Module({})
export class DemoModule {
  static forRoot(settings: DemoSettings): DynamicModule {
    return {
      module: DemoModule,
      imports: [
        EventEmitterModule.forRoot(),
        QueueGateModule.forRoot({
          // No Redis configured: one process, so the memory store is exact.
          ...(settings.redisUrl ? { redis: { url: settings.redisUrl } } : { store: 'memory' }),
          keyPrefix: settings.keyPrefix,
          limits: settings.limits,
        }),
      ],
      controllers: [TasksController, GatesController],
      providers: [{ provide: DEMO_SETTINGS, useValue: settings }, TaskRepository, WorkerPool],
    };
  }
}
