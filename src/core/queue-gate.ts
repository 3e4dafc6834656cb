import { randomUUID } from 'node:crypto';
import type { GateStore } from '../store/gate-store.interface';
import { withDeadline } from './deadline';
import { GateUnavailableError, type GateOperation } from './errors/gate-unavailable.error';
import { InvalidArgumentError } from './errors/invalid-argument.error';
import { QueueGateError } from './errors/queue-gate.error';
import { SILENT_LOGGER, type GateLogger } from './gate-logger';
import type {
  AcquireOptions,
  AcquireResult,
  ExtendOptions,
  GateHolderInfo,
  GateUsage,
  KeepAliveOptions,
  ReconcileOptions,
  ReconcileResult,
} from './gate-results';
import { type KeepAliveHandle, LeaseKeepAlive } from './lease-keep-alive';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseMilliseconds } from './lease-policy';
import { type GateLimit, type LimitSource, resolveLimit } from './limit-source';
import {
  DEFAULT_PENDING_RELEASE_OPTIONS,
  PendingReleaseQueue,
  type PendingReleaseOptions,
} from './pending-release-queue';
import { assertModelName, assertSeconds, assertTaskId } from './validation';

/** Default bound on one store call, in ms. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** What a {@link QueueGate} is built with; every field has a default. */
export interface QueueGateConfig {
  /** Per-model limits: a map or a (possibly async) function of the model. */
  limits?: LimitSource;
  /** Limit of models the `limits` option does not name. Default: unlimited. */
  defaultLimit?: GateLimit;
  /** Lease policy; missing fields take {@link DEFAULT_LEASE_POLICY}'s. */
  lease?: Partial<LeasePolicy>;
  /** Longest wait for one store call before it fails as unavailable, in ms. Default 2000. */
  commandTimeoutMs?: number;
  /** Tuning of the retry queue of releases that could not reach the store. */
  pendingReleases?: Partial<PendingReleaseOptions>;
  logger?: GateLogger;
  /** Called when a keep-alive finds its lease already lost. */
  onLeaseLost?: (model: string, taskId: string) => void;
}

/**
 * The strict gate: validation, limit resolution, lease policy, bounded store calls, releases
 * that are retried until they land, and lease keep-alives. Free of Nest; the Nest service is a
 * thin subclass.
 */
export class QueueGate {
  private readonly leasePolicy: LeasePolicy;
  private readonly timeoutMs: number;
  private readonly pending: PendingReleaseQueue;
  private readonly keepAlives = new Map<string, LeaseKeepAlive>();
  protected readonly logger: GateLogger;

  constructor(
    protected readonly store: GateStore,
    private readonly config: QueueGateConfig = {},
  ) {
    this.leasePolicy = { ...DEFAULT_LEASE_POLICY, ...config.lease };
    this.timeoutMs = config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.logger = config.logger ?? SILENT_LOGGER;
    this.pending = new PendingReleaseQueue(
      (gate, holder) => this.bounded(this.store.release({ gate, holder })),
      { ...DEFAULT_PENDING_RELEASE_OPTIONS, ...config.pendingReleases },
      this.logger,
    );
  }

  /**
   * Takes a slot of `model`'s gate for a task, or reports the gate full (`acquired: false`).
   * Acquiring again for a task that holds its slot answers `alreadyHeld` and never takes a
   * second slot. Throws an {@link InvalidArgumentError} on bad input and a
   * {@link GateUnavailableError} when the store does not answer in time.
   */
  async acquire(model: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    assertModelName(model);
    const generated = options.taskId === undefined;
    const taskId = options.taskId ?? randomUUID();
    assertTaskId(taskId);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const limit = await this.limitOf(model, 'acquire', options.limit);
    // A release still queued from the task's previous life would free the new slot on landing.
    const releaseWasQueued = this.pending.cancel(model, taskId);
    try {
      const reply = await this.call(model, 'acquire', () =>
        this.store.acquire({ gate: model, holder: taskId, limit, leaseMs }),
      );
      return {
        acquired: reply.admitted,
        alreadyHeld: reply.alreadyHeld,
        model,
        taskId,
        used: reply.used,
        limit,
        reclaimed: reply.reclaimed,
        expiresAt: reply.expiresAt,
      };
    } catch (error) {
      // The command may still run once Redis answers; nobody else knows a generated id, so
      // undo it rather than leak the slot for a whole lease. A release that was queued stays
      // owed: the caller was told this acquire failed, so its old slot must still go back.
      if ((generated || releaseWasQueued) && error instanceof GateUnavailableError) {
        this.pending.add(model, taskId, error.cause);
      }
      throw error;
    }
  }

  /**
   * Takes the slot again for a task that is being retried: same as `acquire` with its task id.
   * Returns the acquire's answer; when `acquired` is false the retry should wait.
   */
  reacquire(
    model: string,
    taskId: string,
    options: Omit<AcquireOptions, 'taskId'> = {},
  ): Promise<AcquireResult> {
    return this.acquire(model, { ...options, taskId });
  }

  /**
   * Gives a task's slot back; true when it was held. Idempotent. When the store cannot be
   * reached the release is queued and retried until it lands, and a
   * {@link GateUnavailableError} with `releaseQueued: true` is thrown.
   */
  async release(model: string, taskId: string): Promise<boolean> {
    assertModelName(model);
    assertTaskId(taskId);
    if (this.keepAlives.size > 0) this.keepAlives.get(holderId(model, taskId))?.stop();
    try {
      const reply = await this.call(model, 'release', () =>
        this.store.release({ gate: model, holder: taskId }),
      );
      this.pending.cancel(model, taskId);
      return reply.released;
    } catch (error) {
      if (!(error instanceof GateUnavailableError)) throw error;
      this.pending.add(model, taskId, error.cause);
      throw new GateUnavailableError(model, 'release', error.cause, true);
    }
  }

  /** Renews a live lease; false when it was already lost (it is not brought back). */
  async extend(model: string, taskId: string, options: ExtendOptions = {}): Promise<boolean> {
    assertModelName(model);
    assertTaskId(taskId);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const reply = await this.call(model, 'extend', () =>
      this.store.extend({ gate: model, holder: taskId, leaseMs }),
    );
    return reply.extended;
  }

  /**
   * Renews a lease periodically (default: every third of the lease) until `stop()`, release,
   * or a renewal that finds the lease lost (then `onLost` and the `onLeaseLost` hook run).
   */
  keepAlive(model: string, taskId: string, options: KeepAliveOptions = {}): KeepAliveHandle {
    assertModelName(model);
    assertTaskId(taskId);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    if (options.everySeconds !== undefined) {
      assertSeconds(options.everySeconds, 'everySeconds');
      if (options.everySeconds === 0) {
        throw new InvalidArgumentError('everySeconds', 0, 'it must be a number > 0');
      }
    }
    const everyMs = Math.max(
      1,
      options.everySeconds ? options.everySeconds * 1000 : Math.floor(leaseMs / 3),
    );
    const id = holderId(model, taskId);
    this.keepAlives.get(id)?.stop();
    const keeper: LeaseKeepAlive = new LeaseKeepAlive(
      `task "${taskId}" on gate "${model}"`,
      () => this.extend(model, taskId, options),
      everyMs,
      () => {
        this.logger.warn(`Queue gate "${model}": lease of task "${taskId}" was lost.`);
        options.onLost?.();
        this.config.onLeaseLost?.(model, taskId);
      },
      () => {
        if (this.keepAlives.get(id) === keeper) this.keepAlives.delete(id);
      },
      this.logger,
    );
    this.keepAlives.set(id, keeper);
    return keeper;
  }

  /** Live holders and the limit that applies now. */
  async usage(model: string): Promise<GateUsage> {
    assertModelName(model);
    const limit = await this.limitOf(model, 'usage');
    const { used } = await this.call(model, 'usage', () => this.store.usage(model));
    return { model, used, limit, available: limit === null ? null : Math.max(0, limit - used) };
  }

  /** The live holders of a gate, soonest lease end first. */
  async holders(model: string): Promise<GateHolderInfo[]> {
    assertModelName(model);
    const reply = await this.call(model, 'holders', () => this.store.holders(model));
    return reply.holders.map(({ holder, expiresAt }) => ({ taskId: holder, expiresAt }));
  }

  /**
   * Makes the gate hold exactly `activeTaskIds` (from the application's database, the source of
   * truth), in one atomic step: unknown holders are removed, missing ones added with a fresh
   * lease, the others keep theirs. The cure for a Redis that lost data.
   */
  async reconcile(
    model: string,
    activeTaskIds: readonly string[],
    options: ReconcileOptions = {},
  ): Promise<ReconcileResult> {
    assertModelName(model);
    assertTaskIds('activeTaskIds', activeTaskIds);
    if (options.removable !== undefined) assertTaskIds('removable', options.removable);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const reply = await this.call(model, 'reconcile', () =>
      this.store.reconcile({
        gate: model,
        holders: activeTaskIds,
        leaseMs,
        removable: options.removable,
      }),
    );
    return { model, ...reply };
  }

  /** Releases waiting to be retried, and releases given up at the queue's bound. */
  pendingReleases(): { queued: number; dropped: number } {
    return { queued: this.pending.size, dropped: this.pending.droppedCount };
  }

  /**
   * Stops keep-alives and retries queued releases until they land or `deadlineMs` passes.
   * Returns how many releases could not be delivered.
   */
  async close(deadlineMs = 5_000): Promise<number> {
    for (const keeper of [...this.keepAlives.values()]) keeper.stop();
    const left = await this.pending.flush(deadlineMs);
    this.pending.close();
    if (left > 0) {
      this.logger.error(
        `${left} gate release(s) could not be delivered before shutdown; ` +
          'their slots come back when their leases end.',
      );
    }
    return left;
  }

  /** Lease length in ms for a task expected to take `expectedSeconds`. */
  protected leaseOf(expectedSeconds: number | undefined): number {
    if (expectedSeconds !== undefined) assertSeconds(expectedSeconds);
    return leaseMilliseconds(expectedSeconds, this.leasePolicy);
  }

  private async limitOf(
    model: string,
    operation: GateOperation,
    explicit?: GateLimit,
  ): Promise<GateLimit> {
    try {
      return await resolveLimit(model, explicit, this.config.limits, this.config.defaultLimit);
    } catch (error) {
      if (error instanceof QueueGateError) throw error;
      // A limit that cannot be read (its database is down) cannot be enforced either.
      throw new GateUnavailableError(model, operation, error);
    }
  }

  private async call<T>(
    model: string,
    operation: GateOperation,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await this.bounded(work());
    } catch (error) {
      throw new GateUnavailableError(model, operation, error);
    }
  }

  private bounded<T>(work: Promise<T>): Promise<T> {
    return withDeadline(work, this.timeoutMs);
  }
}

function assertTaskIds(argument: string, taskIds: unknown): void {
  if (!Array.isArray(taskIds)) {
    throw new InvalidArgumentError(argument, taskIds, 'it must be an array of task ids');
  }
  taskIds.forEach((taskId) => assertTaskId(taskId));
}

function holderId(model: string, taskId: string): string {
  return `${model}\u0000${taskId}`;
}
