import { type DynamicModule, Module } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import { QueueGateModule } from '../../src';
import { BENCH } from '../config';
import { BenchController } from './bench.controller';

/**
 * The HTTP benchmark's app: the gate's module and `@nestjs/throttler` with its Redis storage
 * (`@nest-lab/throttler-storage-redis`), both on the benchmark's Redis, and one controller.
 * The throttler's guard is on its own route only, not global, so the other routes do not pay
 * for it.
 */
@Module({})
export class BenchAppModule {
  static on(redisUrl: string): DynamicModule {
    return {
      module: BenchAppModule,
      imports: [
        QueueGateModule.forRoot({ redis: { url: redisUrl } }),
        ThrottlerModule.forRoot({
          throttlers: [{ limit: BENCH.http.throttleLimit, ttl: BENCH.http.throttleTtlMs }],
          storage: new ThrottlerStorageRedisService(redisUrl),
        }),
      ],
      controllers: [BenchController],
    };
  }
}
