import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { QueueGateHealthIndicator } from './queue-gate.health-indicator';

/**
 * Provides {@link QueueGateHealthIndicator}: import it beside `TerminusModule` and
 * `QueueGateModule` (global, or imported anywhere in the app) in the module of your health
 * controller.
 */
@Module({
  imports: [TerminusModule],
  providers: [QueueGateHealthIndicator],
  exports: [QueueGateHealthIndicator],
})
export class QueueGateTerminusModule {}
