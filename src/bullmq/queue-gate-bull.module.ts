import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { QueueGateBullListener } from './queue-gate-bull.listener';
import { QUEUE_GATE_BULL_OPTIONS, type QueueGateBullOptions } from './queue-gate-bull.options';

/**
 * Keeps the gate in step with the BullMQ jobs of the named queues: import it beside
 * `QueueGateModule` (made global, or imported here) and `BullModule`, and add jobs with
 * `gateJob(slot, data)`.
 */
@Module({})
export class QueueGateBullModule {
  /** Follows the jobs of `options.queues`. */
  static forRoot(options: QueueGateBullOptions): DynamicModule {
    return {
      module: QueueGateBullModule,
      imports: [DiscoveryModule],
      providers: [{ provide: QUEUE_GATE_BULL_OPTIONS, useValue: options }, QueueGateBullListener],
    };
  }
}
