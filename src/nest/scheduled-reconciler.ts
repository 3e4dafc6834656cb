import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { StaleHolders } from '../core/stale-holders';
import { QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import type { QueueGateModuleOptions, ScheduledReconcileOptions } from './queue-gate.options';
import { QueueGateService } from './queue-gate.service';

/**
 * Runs the `reconcile` option: every `everySeconds`, for each model, reads the active task ids
 * from the application and makes the gate hold them. Missing holders (Redis lost data) are
 * added at once; unknown holders are removed only when unknown two rounds in a row, so that a
 * slot taken between the database read and the reconcile is never removed. Rounds never overlap.
 */
@Injectable()
export class ScheduledReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueGate');
  private readonly stale = new StaleHolders();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly gate: QueueGateService,
    @Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.reconcile) this.schedule(this.options.reconcile);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
  }

  /** Runs one round now (also what the schedule runs). */
  runOnce(): Promise<void> {
    const settings = this.options.reconcile;
    if (!settings) return Promise.resolve();
    this.round ??= this.reconcileAll(settings).finally(() => (this.round = undefined));
    return this.round;
  }

  private schedule(settings: ScheduledReconcileOptions): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => this.schedule(settings));
    }, settings.everySeconds * 1000);
    this.timer.unref();
  }

  private async reconcileAll(settings: ScheduledReconcileOptions): Promise<void> {
    let models: readonly string[];
    try {
      models = typeof settings.models === 'function' ? await settings.models() : settings.models;
    } catch (error) {
      this.logger.error(`Scheduled reconcile could not list models: ${describe(error)}`);
      return;
    }
    for (const model of models) {
      if (this.stopped) return;
      try {
        await this.reconcileOne(model, settings);
      } catch (error) {
        this.logger.error(`Scheduled reconcile of gate "${model}" failed: ${describe(error)}`);
      }
    }
  }

  private async reconcileOne(model: string, settings: ScheduledReconcileOptions): Promise<void> {
    // Read the truth first: a holder admitted after this read is then at worst "unknown once".
    const active = await settings.activeTaskIds(model);
    const known = new Set(active);
    const holders = await this.gate.holders(model);
    const unknown = holders.map((h) => h.taskId).filter((taskId) => !known.has(taskId));
    const removable = this.stale.confirm(model, unknown);
    const result = await this.gate.reconcile(model, active, { removable });
    if (result.added > 0 || result.removed > 0) {
      this.logger.warn(
        `Gate "${model}" was out of step with the application: added ${result.added}, ` +
          `removed ${result.removed}; ${result.used} held now.`,
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
