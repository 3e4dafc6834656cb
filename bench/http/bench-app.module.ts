import { type DynamicModule, Module } from '@nestjs/common';
import { QueueGateModule } from '../../src';
import { BenchController } from './bench.controller';

/** The HTTP benchmark's app: the gate's module on the benchmark's Redis, and one controller. */
@Module({})
export class BenchAppModule {
  static on(redisUrl: string): DynamicModule {
    return {
      module: BenchAppModule,
      imports: [QueueGateModule.forRoot({ redis: { url: redisUrl } })],
      controllers: [BenchController],
    };
  }
}
