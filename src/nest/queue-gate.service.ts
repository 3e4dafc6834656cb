import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { DoctorFinding } from '../core/doctor';
import { QueueGate } from '../core/queue-gate';
import { createGateMetrics } from './create-gate-metrics';
import type { GateStoreHandle } from './create-gate-store';
import { eventNamesOf } from './event-names';
import type { LifecycleEmitter } from './lifecycle-emitter';
import { QueueGateConnection } from './queue-gate.connection';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  QUEUE_GATE_EVENT_EMITTER,
  QUEUE_GATE_OPTIONS,
  QUEUE_GATE_STORE_HANDLE,
} from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';
import { TaskLifecycleEvent } from './task-lifecycle.events';
import { UnfitGateStoreError } from './errors/unfit-store.error';

/**
 * The gate for providers, controllers and workers: `acquire`, `release`, `extend`,
 * `keepAlive`, `reacquire`, `usage`, `holders`, `reconcile`. See {@link QueueGate} for each
 * method's contract. A keep-alive that finds its lease lost emits the `leaseLost` event when
 * an event emitter is present. In the last shutdown hook it delivers queued releases (bounded
 * by `shutdownTimeoutMs`), then closes the Redis client the module opened; a client you passed
 * in stays open.
 */
@Injectable()
export class QueueGateService
  extends QueueGate
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  /** @internal Nest injects it; see `QueueGateModule`. */
  constructor(
    @Inject(QUEUE_GATE_STORE_HANDLE) handle: GateStoreHandle,
    @Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions,
    @Inject(QUEUE_GATE_EVENT_EMITTER) emitter: LifecycleEmitter | null,
    private readonly connection: QueueGateConnection,
  ) {
    const metrics = createGateMetrics(options.metrics);
    super(handle.store, {
      ...options,
      observers: metrics ? [...(options.observers ?? []), metrics] : options.observers,
      logger: new Logger('QueueGate'),
      onLeaseLost: (model, taskId, token) =>
        emitter?.emit(
          eventNamesOf(options).leaseLost,
          new TaskLifecycleEvent(model, taskId, { token }),
        ),
    });
    metrics?.watch(this);
  }

  /**
   * Runs the doctor once the connection is up (unless `doctor: false`) and logs its findings;
   * fails the boot with {@link UnfitGateStoreError} when one is an error.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.doctor === false) return;
    const findings = await this.doctor();
    for (const finding of findings) this.report(finding);
    if (findings.some((finding) => finding.severity === 'error')) {
      // No shutdown hook runs after a failed boot: close what the module opened, or its
      // connection would keep the process alive.
      await this.close(0);
      await this.connection.close();
      throw new UnfitGateStoreError(findings);
    }
  }

  private report({ severity, check, message }: DoctorFinding): void {
    const line = `Doctor [${check}]: ${message}`;
    if (severity === 'error') this.logger.error(line);
    else if (severity === 'warning') this.logger.warn(line);
    else this.logger.log(line);
  }

  /**
   * Delivers queued releases, then closes the module's own Redis client. This is the last hook:
   * workers that drain in their own `beforeApplicationShutdown` (in any module, at any depth)
   * still release through an open gate, and a release they could not deliver is in the queue
   * flushed here.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.close(this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    await this.connection.close();
  }
}
