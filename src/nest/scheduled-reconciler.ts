import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { GateHolderInfo } from '../core/gate-results';
import { REQUEST_BOUND_HOLDER_PREFIX } from '../core/request-bound';
import { StaleHolders } from '../core/stale-holders';
import { QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import type { QueueGateModuleOptions, ScheduledReconcileOptions } from './queue-gate.options';
import { QueueGateService } from './queue-gate.service';
import { errorMessage } from '../core/errors/error-message';

/**
 * Runs the `reconcile` option: every `everySeconds`, for each model, reads the active task ids
 * from the application and makes the gate hold them. Missing holders (Redis lost data) are
 * added at once; unknown holders are removed only when the same lease (task id and token) was
 * unknown two rounds in a row, so that a slot taken between the database read and the
 * reconcile is never removed, nor a task unknown twice for two different reasons (its failed
 * run not yet released, then its retry admitted before the database says so). Slots bound to
 * a response (`release: 'response'`, `@Sse()`) are in no database and never removed. Rounds
 * never overlap.
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

  /** Starts the schedule when the `reconcile` option is set. */
  onApplicationBootstrap(): void {
    if (this.options.reconcile) this.schedule(this.options.reconcile);
  }

  /** Stops the schedule and waits for a round in progress to end. */
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
      this.logger.error(`Scheduled reconcile could not list models: ${errorMessage(error)}`);
      return;
    }
    for (const model of models) {
      if (this.stopped) return;
      try {
        await this.reconcileOne(model, settings);
      } catch (error) {
        this.logger.error(`Scheduled reconcile of gate "${model}" failed: ${errorMessage(error)}`);
      }
    }
  }

  private async reconcileOne(model: string, settings: ScheduledReconcileOptions): Promise<void> {
    // Read the truth first: a holder admitted after this read is then at worst "unknown once".
    const active = await settings.activeTaskIds(model);
    const known = new Set(active);
    const holders = await this.gate.holders(model);
    // A suspect is one admission: a retry of the same task (a new token) starts over.
    const unknown = new Map(
      holders
        .filter((h) => !known.has(h.taskId) && !h.taskId.startsWith(REQUEST_BOUND_HOLDER_PREFIX))
        .map((h) => [leaseIdentity(h), h]),
    );
    const removable = this.stale.confirm(model, [...unknown.keys()]).map((identity) => {
      const { taskId, token } = unknown.get(identity)!;
      // Fenced, so the removal misses an admission made since the holders were read; token 0
      // marks a holder recorded before tokens existed, which can only be named by its id.
      return token > 0 ? { taskId, token } : { taskId };
    });
    const result = await this.gate.reconcile(model, active, { removable });
    if (result.added > 0 || result.removed > 0) {
      this.logger.warn(
        `Gate "${model}" was out of step with the application: added ${result.added}, ` +
          `removed ${result.removed}; ${result.used} held now.`,
      );
    }
  }
}

/** One admission of a task, as a key that no two different (taskId, token) pairs share. */
function leaseIdentity(holder: GateHolderInfo): string {
  return JSON.stringify([holder.taskId, holder.token]);
}
