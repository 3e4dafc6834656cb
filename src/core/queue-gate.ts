import { randomUUID } from 'node:crypto';
import {
  type AcquireReply,
  type GateStore,
  type ReleaseFence,
  type ReleaseReply,
  type RemovableHolder,
  StoreRefusal,
} from './gate-store';
import type { DoctorFinding } from './doctor';
import type { GateObserver, ReleaseOutcome } from './gate-observer';
import { AcquireAbortedError } from './errors/acquire-aborted.error';
import { errorMessage } from './errors/error-message';
import { CallDeadlines } from './call-deadlines';
import { withDeadline } from './deadline';
import { GateUnavailableError, type GateOperation } from './errors/gate-unavailable.error';
import { InvalidArgumentError } from './errors/invalid-argument.error';
import { QueueGateError } from './errors/queue-gate.error';
import { StaleTokenError } from './errors/stale-token.error';
import { SILENT_LOGGER, type GateLogger } from './gate-logger';
import type {
  AcquireOptions,
  AcquireResult,
  ExtendOptions,
  GateHolderInfo,
  GateSnapshot,
  GateSnapshotPage,
  GateUsage,
  KeepAliveOptions,
  ReconcileOptions,
  ReconcileResult,
  ReleaseOptions,
  SnapshotOptions,
  UsageOptions,
} from './gate-results';
import { type KeepAliveHandle, LeaseKeepAlive } from './lease-keep-alive';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseMilliseconds } from './lease-policy';
import {
  type GateLimit,
  type LimitSource,
  type ResolvedLimits,
  resolveLimits,
} from './limit-source';
import { MAX_LEASE_MS, MAX_TIMER_MS } from './limits';
import { pairKey } from './pair-key';
import {
  DEFAULT_PENDING_RELEASE_OPTIONS,
  PendingReleaseQueue,
  type PendingRelease,
  type PendingReleaseCounts,
  type PendingReleaseOptions,
} from './pending-release-queue';
import { REQUEST_BOUND_HOLDER_PREFIX } from './request-bound';
import {
  assertCost,
  assertModelName,
  assertPeriodSeconds,
  assertSeconds,
  assertTaskId,
  assertTenant,
  assertWaitMs,
} from './validation';
import { ObserverHub } from './observer-hub';
import { type WaitOutcome, WaitRoom } from './wait-room';

/** Keys a snapshot call looks at when no `count` is given. */
const DEFAULT_SNAPSHOT_COUNT = 100;
/** Most keys one snapshot call may look at. */
const MAX_SNAPSHOT_COUNT = 10_000;

/** Default bound on one store call, in ms. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** Default lease of a waiter's place in a queue, in ms: a dead waiter blocks no longer. */
export const DEFAULT_WAITER_LEASE_MS = 3_000;

/** Replication an admission must reach before `acquire` answers. */
export interface DurabilityOptions {
  /**
   * Replicas that must hold an admission's writes before the acquire answers (Redis `WAIT`
   * after the script), so that the slot survives the primary's death.
   */
  replicas: number;
  /** Longest wait for them, in ms. Default 1000. */
  timeoutMs?: number;
  /**
   * When fewer replicas confirm in time: `'unavailable'` (default) undoes the admission and
   * throws `GateUnavailableError` (503, fail closed); `'admit'` admits with a warning logged.
   */
  onShortfall?: 'unavailable' | 'admit';
}

/** Tuning of waiting acquires. */
export interface WaitingOptions {
  /**
   * How long a waiter's place in the queue holds without a heartbeat, in ms; the heartbeat
   * (which also polls for admissions a lost message did not announce) runs every third of it.
   * A waiter whose process died stops blocking the queue within this. Default 3000.
   */
  waiterLeaseMs?: number;
}

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
  /** Where the gate logs queued, landed and dropped releases and lost leases. Default: silent. */
  logger?: GateLogger;
  /** Called when a keep-alive finds its lease already lost. */
  onLeaseLost?: (model: string, taskId: string, token: number | undefined) => void;
  /** Tuning of waiting acquires (`waitMs`). */
  waiting?: WaitingOptions;
  /** Make admissions wait for replicas before they are answered (off by default). */
  durability?: DurabilityOptions;
  /** Receive every acquire and release (metrics, dashboards); see {@link GateObserver}. */
  observers?: readonly GateObserver[];
}

/**
 * The strict gate: validation, limit resolution, lease policy, bounded store calls, fencing
 * tokens, releases that are retried until they land, and lease keep-alives. Free of Nest; the
 * Nest service is a thin subclass.
 *
 * Every admission carries a fencing token that strictly increases per gate. A release or extend
 * that names a token the holder no longer holds changes nothing and throws
 * {@link StaleTokenError}. An acquire whose answer is lost (timeout, dropped connection) is
 * undone by a queued release fenced to that very call, whoever made the task id.
 */
export class QueueGate {
  private readonly leasePolicy: LeasePolicy;
  private readonly timeoutMs: number;
  private readonly pending: PendingReleaseQueue;
  /** Running keep-alives by pair key, with the token each renews (if fenced). */
  private readonly keepAlives = new Map<string, { keeper: LeaseKeepAlive; token?: number }>();
  /** Unfenced releases still awaiting their answer, by pair key; see `release`. */
  private readonly releasesInFlight = new Map<string, Set<InFlightRelease>>();
  /** The logger from the config (silent by default). */
  protected readonly logger: GateLogger;
  private readonly waitRoom: WaitRoom;
  private readonly waiterLeaseMs: number;
  private readonly durability: { replicas: number; timeoutMs: number } | undefined;
  /** Ended leases this instance's calls reclaimed since it started. */
  private reclaimedTotal = 0;
  private readonly observers: ObserverHub;
  /** The bound on every store call of `commandTimeoutMs`: one timer for all of them. */
  private readonly deadlines: CallDeadlines;

  constructor(
    /** The store that keeps the gates (Redis or memory). */
    protected readonly store: GateStore,
    private readonly config: QueueGateConfig = {},
  ) {
    this.leasePolicy = { ...DEFAULT_LEASE_POLICY, ...config.lease };
    if (this.leasePolicy.maxSeconds * 1000 > MAX_LEASE_MS) {
      throw new InvalidArgumentError(
        'lease.maxSeconds',
        this.leasePolicy.maxSeconds,
        `it must be at most ${MAX_LEASE_MS / 1000} (366 days)`,
      );
    }
    this.timeoutMs = config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    assertPeriodSeconds(this.timeoutMs / 1000, 'commandTimeoutMs / 1000');
    this.deadlines = new CallDeadlines(this.timeoutMs);
    this.logger = config.logger ?? SILENT_LOGGER;
    this.observers = new ObserverHub(config.observers ?? [], this.logger);
    this.pending = new PendingReleaseQueue(
      (release) => this.bounded(this.store.release(release)),
      { ...DEFAULT_PENDING_RELEASE_OPTIONS, ...config.pendingReleases },
      this.logger,
      ({ gate, holder }, outcome) => this.observers.released(gate, holder, outcome),
    );
    this.durability = durabilityOf(config.durability);
    this.waiterLeaseMs = config.waiting?.waiterLeaseMs ?? DEFAULT_WAITER_LEASE_MS;
    assertPeriodSeconds(this.waiterLeaseMs / 1000, 'waiting.waiterLeaseMs / 1000');
    this.waitRoom = new WaitRoom(store, {
      waiterLeaseMs: this.waiterLeaseMs,
      bounded: (work) => this.bounded(work),
      logger: this.logger,
    });
  }

  /**
   * Takes a slot of `model`'s gate for a task, or reports the gate full (`acquired: false`,
   * with `refusedBy` naming the model's limit or the tenant's share). Acquiring again for a
   * task that holds its slot answers `alreadyHeld` with the same token and never takes a second
   * slot.
   *
   * With `waitMs`, a call the gate cannot admit joins the gate's queue and is admitted in
   * arrival order across every instance, or answers `acquired: false` with its `position` when
   * `waitMs` passes. With `signal`, it leaves the queue when the signal fires and throws
   * {@link AcquireAbortedError}. With `tenant`, the model's `perTenant` share applies too;
   * `cost` takes that many units of both.
   *
   * Throws an {@link InvalidArgumentError} on bad input and a {@link GateUnavailableError} when
   * the store does not answer in time; then a release fenced to this call is queued, so the slot
   * does not stay taken if the acquire ran after all.
   */
  acquire(model: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    const taskId = options.taskId ?? randomUUID();
    return this.observed(model, taskId, options, this.admit(model, taskId, options, false));
  }

  /**
   * Takes the slot again for a task that is being retried: always a new admission with a new
   * token (one slot still), even if the old slot is still held, so that releases of the failed
   * run, fenced to its token, cannot free the retry's slot. When `acquired` is false the retry
   * should wait. Throws like {@link acquire}.
   */
  reacquire(
    model: string,
    taskId: string,
    options: Omit<AcquireOptions, 'taskId'> = {},
  ): Promise<AcquireResult> {
    return this.observed(model, taskId, options, this.admit(model, taskId, options, true));
  }

  /**
   * Gives a task's slot back: true when it was held, false when nothing was held (idempotent).
   * With `token`, fenced: throws {@link StaleTokenError} and changes nothing when the task was
   * admitted again since. Without it, unfenced: frees whatever admission the task holds. When
   * the store cannot be reached the release is queued and retried until it lands, and a
   * {@link GateUnavailableError} with `releaseQueued: true` is thrown.
   */
  async release(model: string, taskId: string, options: ReleaseOptions = {}): Promise<boolean> {
    assertModelName(model);
    assertTaskId(taskId);
    const { token } = options;
    if (token !== undefined) assertToken(token);
    this.stopKeepAliveFor(model, taskId, token);
    const fence: ReleaseFence | undefined = token === undefined ? undefined : { token };
    // An unfenced release that fails after the task acquired again must not be queued: landing
    // later, it would free the new slot.
    const id = fence ? undefined : pairKey(model, taskId);
    const marker = id === undefined ? undefined : this.markInFlight(id);
    try {
      const reply = await this.call(model, 'release', () =>
        this.store.release({ gate: model, holder: taskId, fence }),
      );
      if (!fence) this.pending.cancel(model, taskId);
      this.observers.released(model, taskId, releaseOutcome(reply));
      if (reply.stale) {
        throw new StaleTokenError(model, taskId, 'release', token!, reply.currentToken);
      }
      return reply.released;
    } catch (error) {
      if (!(error instanceof GateUnavailableError)) throw error;
      if (marker?.superseded) {
        // Owed only if the acquire that superseded it fails too: it decides (see admit).
        marker.failedWith = error.cause;
        throw new GateUnavailableError(model, 'release', error.cause, false);
      }
      const queued = this.pending.add(model, taskId, fence, error.cause);
      throw new GateUnavailableError(model, 'release', error.cause, queued);
    } finally {
      if (id !== undefined && marker) this.unmarkInFlight(id, marker);
    }
  }

  /**
   * Renews a live lease: false when it was already lost (it is not brought back). With `token`,
   * throws {@link StaleTokenError} when the task was admitted again since.
   */
  async extend(model: string, taskId: string, options: ExtendOptions = {}): Promise<boolean> {
    assertModelName(model);
    assertTaskId(taskId);
    const { token } = options;
    if (token !== undefined) assertToken(token);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const reply = await this.call(model, 'extend', () =>
      this.store.extend({ gate: model, holder: taskId, leaseMs, token }),
    );
    if (reply.stale) throw new StaleTokenError(model, taskId, 'extend', token!, reply.currentToken);
    return reply.extended;
  }

  /**
   * Renews a lease periodically (default: every third of the lease) until `stop()`, release,
   * or a renewal that finds the lease lost or, with `token`, held by a newer admission (then
   * `onLost` and the `onLeaseLost` hook run). `everySeconds` must be shorter than the lease.
   */
  keepAlive(model: string, taskId: string, options: KeepAliveOptions = {}): KeepAliveHandle {
    assertModelName(model);
    assertTaskId(taskId);
    if (options.token !== undefined) assertToken(options.token);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const everyMs = this.renewalPeriod(options.everySeconds, leaseMs);
    const id = pairKey(model, taskId);
    this.keepAlives.get(id)?.keeper.stop();
    const keeper: LeaseKeepAlive = new LeaseKeepAlive({
      label: `task "${taskId}" on gate "${model}"`,
      renew: () =>
        this.extend(model, taskId, options).catch((error: unknown) => {
          if (error instanceof StaleTokenError) return false;
          throw error;
        }),
      everyMs,
      onLost: () => {
        this.logger.warn(`Queue gate "${model}": lease of task "${taskId}" was lost.`);
        options.onLost?.();
        this.config.onLeaseLost?.(model, taskId, options.token);
      },
      onStop: () => {
        if (this.keepAlives.get(id)?.keeper === keeper) this.keepAlives.delete(id);
      },
      logger: this.logger,
    });
    this.keepAlives.set(id, { keeper, token: options.token });
    return keeper;
  }

  /** Units in use, holders, waiters and the limit that applies now; with `tenant`, its units too. */
  async usage(model: string, options: UsageOptions = {}): Promise<GateUsage> {
    assertModelName(model);
    const { tenant } = options;
    if (tenant !== undefined) assertTenant(tenant);
    const { limit, perTenant } = await this.limitsOf(model, 'usage');
    const reply = await this.call(model, 'usage', () => this.store.usage(model, tenant));
    const { used, holders, waiting } = reply;
    const usage: GateUsage = {
      model,
      used,
      holders,
      waiting,
      limit,
      available: limit === null ? null : Math.max(0, limit - used),
    };
    if (tenant === undefined) return usage;
    return { ...usage, tenantUsed: reply.tenantUsed, tenantLimit: perTenant };
  }

  /**
   * One page of every gate under the key prefix, each with its occupancy, its limit (resolved
   * as in {@link usage}), its live lease ends and its ended leases not reclaimed yet. Each call
   * does bounded work (one `SCAN` step of about `count` keys on one Redis node, then one read
   * per gate found): call again with the returned `cursor` until it is null. Across a complete
   * scan every gate that existed throughout appears exactly once; each gate is read atomically,
   * but gates are read at different moments.
   */
  async snapshot(options: SnapshotOptions = {}): Promise<GateSnapshotPage> {
    const { cursor, count = DEFAULT_SNAPSHOT_COUNT } = options;
    if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) {
      throw new InvalidArgumentError('cursor', cursor, 'it must be a cursor a snapshot returned');
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_SNAPSHOT_COUNT) {
      throw new InvalidArgumentError(
        'count',
        count,
        `it must be an integer in [1, ${MAX_SNAPSHOT_COUNT}]`,
      );
    }
    const store = this.store;
    if (!store.snapshot) throw new Error('This gate store cannot list its gates (no snapshot()).');
    let reply;
    try {
      // A scan step then the gates' reads: two round trips.
      reply = await withDeadline(store.snapshot({ cursor, count }), this.timeoutMs * 2);
    } catch (error) {
      throw new GateUnavailableError('*', 'snapshot', error);
    }
    const gates = await Promise.all(
      reply.gates.map(async (state): Promise<GateSnapshot> => {
        const { limit } = await this.limitsOf(state.gate, 'snapshot');
        return {
          model: state.gate,
          used: state.used,
          holders: state.holders,
          waiting: state.waiting,
          limit,
          soonestLeaseEnd: state.soonestLeaseEnd,
          latestLeaseEnd: state.latestLeaseEnd,
          ended: state.ended,
          reclaimed: state.reclaimed,
        };
      }),
    );
    return { gates, cursor: reply.cursor };
  }

  /** The live holders of a gate with their tokens, soonest lease end first. */
  async holders(model: string): Promise<GateHolderInfo[]> {
    assertModelName(model);
    const reply = await this.call(model, 'holders', () => this.store.holders(model));
    return reply.holders.map(({ holder, expiresAt, token, cost, tenant }) => ({
      taskId: holder,
      expiresAt,
      token,
      cost,
      tenant,
    }));
  }

  /**
   * Makes the gate hold exactly `activeTaskIds` (from the application's database, the source of
   * truth), in one atomic step: unknown holders are removed, missing ones added with a fresh
   * lease and token, the others keep theirs. Slots bound to a response (ids starting with
   * {@link REQUEST_BOUND_HOLDER_PREFIX}) are never removed. The cure for a Redis that lost data.
   */
  async reconcile(
    model: string,
    activeTaskIds: readonly string[],
    options: ReconcileOptions = {},
  ): Promise<ReconcileResult> {
    assertModelName(model);
    assertTaskIds('activeTaskIds', activeTaskIds);
    const removable = options.removable && removableHolders(options.removable);
    const leaseMs = this.leaseOf(options.expectedSeconds);
    const reply = await this.call(model, 'reconcile', () =>
      this.store.reconcile({
        gate: model,
        holders: activeTaskIds,
        leaseMs,
        removable,
        sparedPrefix: REQUEST_BOUND_HOLDER_PREFIX,
      }),
    );
    return { model, ...reply };
  }

  /**
   * Checks the server the store runs on (see {@link DoctorFinding}): never throws; a store that
   * cannot be reached is a warning, as the checks run again at the next call.
   */
  async doctor(): Promise<DoctorFinding[]> {
    if (!this.store.diagnose) return [];
    try {
      // Several commands, each bounded like any other call.
      return await withDeadline(this.store.diagnose(), this.timeoutMs * 5);
    } catch (error) {
      return [
        {
          severity: 'warning',
          check: 'reachable',
          message: `The store did not answer the checks (${errorMessage(error)}).`,
        },
      ];
    }
  }

  /**
   * Ended leases this instance's acquires reclaimed since it started: each is a slot whose
   * release never came (a leak signal worth an alert).
   */
  reclaimedLeases(): number {
    return this.reclaimedTotal;
  }

  /** Releases waiting to be retried, and what became of the others. */
  pendingReleases(): PendingReleaseCounts {
    return this.pending.stats();
  }

  /**
   * Stops keep-alives and retries queued releases until they land or `deadlineMs` passes.
   * Returns how many releases could not be delivered. Releases that fail after this are logged
   * as undelivered, not retried.
   */
  async close(deadlineMs = 5_000): Promise<number> {
    for (const { keeper } of [...this.keepAlives.values()]) keeper.stop();
    // Waiting calls leave their queues first: a leave that fails queues its release here.
    await this.waitRoom.close();
    const left = await this.pending.flush(deadlineMs);
    this.pending.close();
    await this.store.close().catch(() => undefined);
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

  /** Hands the call's outcome to the observers, if any; costs nothing when there are none. */
  private observed(
    model: string,
    taskId: string,
    options: Omit<AcquireOptions, 'taskId'>,
    call: Promise<AcquireResult>,
  ): Promise<AcquireResult> {
    const observers = this.observers;
    if (!observers.active) return call;
    const started = performance.now();
    const asked = {
      model,
      taskId,
      cost: options.cost ?? 1,
      tenant: options.tenant,
      waits: (options.waitMs ?? 0) > 0,
    };
    return call.then(
      (result) => {
        observers.answered(asked, result, performance.now() - started);
        return result;
      },
      (error: unknown) => {
        observers.threw(asked, error, performance.now() - started);
        throw error;
      },
    );
  }

  /** Checks an acquire's input and finds its limits, then runs it. */
  private admit(
    model: string,
    taskId: string,
    options: Omit<AcquireOptions, 'taskId'>,
    renew: boolean,
  ): Promise<AcquireResult> {
    try {
      assertModelName(model);
      assertTaskId(taskId);
      const { tenant, cost = 1, waitMs = 0 } = options;
      if (tenant !== undefined) assertTenant(tenant);
      assertCost(cost);
      assertWaitMs(waitMs);
      const leaseMs = this.leaseOf(options.expectedSeconds);
      const found = this.limitsOf(model, 'acquire', options.limit);
      const admission = { model, taskId, options, renew, leaseMs };
      // A limits map answers at once: the common acquire takes no extra turn of the event loop.
      return found instanceof Promise
        ? found.then((limits) => this.admitWithin(admission, limits))
        : this.admitWithin(admission, found);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * The acquire, its input checked and its limits known. A plain acquire (no wait, no
   * durability) is one store call and one continuation; the others take the longer road.
   */
  private admitWithin(admission: Admission, limits: ResolvedLimits): Promise<AcquireResult> {
    const { model, taskId, options } = admission;
    const { tenant, cost = 1, waitMs = 0, signal } = options;
    assertCostFits(model, cost, tenant, limits);
    if (signal?.aborted) throw new AcquireAbortedError(model, taskId, 0, signal.reason);
    const superseded = this.supersedeReleasesInFlight(model, taskId);
    // A release still queued from the task's previous life would free the new slot on landing.
    const cancelled = this.pending.cancel(model, taskId);
    // Names this call among the task's acquires: 32 random bits from the UUID generator's pool.
    const attempt = randomUUID().slice(0, 8);
    const displaced = { attempt, cancelled, superseded };
    if (waitMs > 0 || this.durability) {
      return this.admitSlowly(admission, limits, displaced);
    }
    return this.acquireCall(admission, limits, attempt).then(
      (reply) => this.admissionResult(admission, limits, reply),
      (error: unknown) => this.acquireFailed(model, taskId, displaced, error),
    );
  }

  /** An acquire that may wait in the queue or for replicas. */
  private async admitSlowly(
    admission: Admission,
    limits: ResolvedLimits,
    displaced: Displaced,
  ): Promise<AcquireResult> {
    const { model, taskId, options, renew } = admission;
    const { waitMs = 0, signal } = options;
    const { attempt } = displaced;
    const started = waitMs > 0 ? performance.now() : 0;
    const ticket = waitMs > 0 ? this.waitRoom.enter(model, taskId, attempt) : undefined;
    const listeningBeforeIt = ticket !== undefined && this.waitRoom.isListening(model);
    let reply: AcquireReply;
    try {
      reply = await this.acquireCall(admission, limits, attempt);
      if (this.durability && reply.admitted && (renew || !reply.alreadyHeld)) {
        await this.confirmReplicated(model, taskId, attempt, reply.replicated ?? 0);
      }
    } catch (error) {
      ticket?.exit();
      return this.acquireFailed(model, taskId, displaced, error);
    }
    const result = this.admissionResult(admission, limits, reply);
    if (!ticket) return result;
    if (reply.admitted || reply.position === null) {
      ticket.exit();
      const waitedMs = performance.now() - started;
      // Aborted while the acquire was on its way: a new admission goes back, a held one stays.
      if (signal?.aborted && reply.admitted && !reply.alreadyHeld) {
        await this.undoAttempt(model, taskId, attempt);
        throw new AcquireAbortedError(model, taskId, waitedMs, signal.reason);
      }
      return { ...result, waitedMs };
    }
    ticket.queued(listeningBeforeIt);
    return this.waitInQueue(result, attempt, ticket, started, waitMs, signal);
  }

  /** The store call of an acquire. */
  private acquireCall(
    { model, taskId, options, renew, leaseMs }: Admission,
    limits: ResolvedLimits,
    attempt: string,
  ): Promise<AcquireReply> {
    const { tenant, cost = 1, waitMs = 0 } = options;
    return this.call(model, 'acquire', () =>
      this.store.acquire({
        gate: model,
        holder: taskId,
        limit: limits.limit,
        leaseMs,
        attempt,
        renew,
        cost,
        tenant,
        perTenant: tenant === undefined ? null : limits.perTenant,
        waiterLeaseMs: waitMs > 0 ? this.waiterLeaseMs : 0,
        durability: this.durability,
      }),
    );
  }

  /** What an acquire answers, from the store's reply (before any wait in the queue). */
  private admissionResult(
    { model, taskId, options }: Admission,
    limits: ResolvedLimits,
    reply: AcquireReply,
  ): AcquireResult {
    const { tenant, cost = 1 } = options;
    this.reclaimedTotal += reply.reclaimed;
    return {
      acquired: reply.admitted,
      alreadyHeld: reply.alreadyHeld,
      model,
      taskId,
      used: reply.used,
      limit: limits.limit,
      reclaimed: reply.reclaimed,
      expiresAt: reply.expiresAt,
      token: reply.token,
      cost,
      tenant: tenant ?? null,
      tenantUsed: tenant === undefined ? null : reply.tenantUsed,
      tenantLimit: tenant === undefined ? null : limits.perTenant,
      refusedBy: reply.refusedBy,
      waitedMs: 0,
      position: null,
    };
  }

  /**
   * An acquire that failed: when it may still run once the store answers (a stall, a replay
   * after a reconnect), undo exactly what this call may have admitted, nothing older; the
   * releases it displaced are owed again, as the caller was told it failed. Rethrows.
   */
  private acquireFailed(
    model: string,
    taskId: string,
    { attempt, cancelled, superseded }: Displaced,
    error: unknown,
  ): never {
    const unavailable = error instanceof GateUnavailableError;
    if (unavailable && owesUndo(error.cause)) {
      this.pending.add(model, taskId, { attempt }, error.cause);
    }
    this.pending.restore(cancelled, unavailable ? error.cause : error);
    this.reinstate(model, taskId, superseded);
    throw error;
  }

  /**
   * Waits for the admission the store hands this call, the deadline, or the signal. Leaving the
   * queue is one atomic step that also says whether the call was admitted first: then a
   * deadline returns the admission, and an abort gives it back.
   */
  private async waitInQueue(
    queued: AcquireResult,
    attempt: string,
    ticket: ReturnType<WaitRoom['enter']>,
    started: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<AcquireResult> {
    const { model, taskId } = queued;
    const waited = () => performance.now() - started;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const ended = await Promise.race<WaitOutcome | 'deadline' | 'aborted'>([
      ticket.outcome,
      new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, waitMs - waited()));
      }),
      new Promise<'aborted'>((resolve) => {
        if (!signal) return;
        onAbort = () => resolve('aborted');
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);

    let outcome: WaitOutcome | { state: 'queued'; position: number };
    // At the deadline, on abort, or when the gate closes, the call leaves the queue.
    if (ended === 'deadline' || ended === 'aborted' || ended.state === 'closing') {
      try {
        const left = await this.call(model, 'acquire', () =>
          this.store.leave({ gate: model, holder: taskId, attempt }),
        );
        outcome = left.state === 'admitted' ? { ...left, tenantUsed: null } : left;
      } catch (error) {
        ticket.exit();
        // Whether the call was admitted is unknown: undo exactly what it may have been given.
        const cause = error instanceof GateUnavailableError ? error.cause : error;
        this.pending.add(model, taskId, { attempt }, cause);
        if (ended === 'aborted') {
          throw new AcquireAbortedError(model, taskId, waited(), signal?.reason);
        }
        throw error;
      }
    } else {
      outcome = ended;
    }
    ticket.exit();

    if (ended === 'aborted') {
      if (outcome.state === 'admitted') await this.undoAttempt(model, taskId, attempt);
      throw new AcquireAbortedError(model, taskId, waited(), signal?.reason);
    }
    if (outcome.state === 'admitted') {
      return {
        ...queued,
        acquired: true,
        used: outcome.used,
        expiresAt: outcome.expiresAt,
        token: outcome.token,
        tenantUsed: queued.tenant === null ? null : outcome.tenantUsed,
        refusedBy: null,
        waitedMs: waited(),
      };
    }
    if (outcome.state === 'gone') {
      this.logger.warn(
        `Queue gate "${model}": task "${taskId}" lost its place in the queue ` +
          '(its heartbeat did not reach the store in time).',
      );
    }
    return {
      ...queued,
      waitedMs: waited(),
      position: outcome.state === 'queued' ? outcome.position : null,
    };
  }

  /**
   * An admission its replicas did not confirm in time would be lost with the primary: undo it
   * and fail closed, or with `onShortfall: 'admit'` keep it and say so.
   */
  private async confirmReplicated(
    model: string,
    taskId: string,
    attempt: string,
    replicated: number,
  ): Promise<void> {
    const { replicas, timeoutMs } = this.durability!;
    if (replicated >= replicas) return;
    const shortfall =
      `only ${replicated} of ${replicas} replica(s) confirmed the admission of task ` +
      `"${taskId}" within ${timeoutMs} ms`;
    if (this.config.durability?.onShortfall === 'admit') {
      this.logger.warn(`Queue gate "${model}": ${shortfall}; admitted anyway.`);
      return;
    }
    await this.undoAttempt(model, taskId, attempt);
    throw new GateUnavailableError(
      model,
      'acquire',
      new ReplicationShortfall(`${shortfall}; undone`),
    );
  }

  /**
   * Gives back the admission one acquire call took (an aborted waiter's, or one its replicas
   * did not confirm), and only it; queued for retry when the store cannot be reached.
   */
  private async undoAttempt(model: string, taskId: string, attempt: string): Promise<void> {
    try {
      const reply = await this.call(model, 'release', () =>
        this.store.release({ gate: model, holder: taskId, fence: { attempt } }),
      );
      this.observers.released(model, taskId, releaseOutcome(reply));
    } catch (error) {
      this.pending.add(
        model,
        taskId,
        { attempt },
        error instanceof GateUnavailableError ? error.cause : error,
      );
    }
  }

  private renewalPeriod(everySeconds: number | undefined, leaseMs: number): number {
    if (everySeconds === undefined)
      return Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(leaseMs / 3)));
    assertPeriodSeconds(everySeconds, 'everySeconds');
    if (everySeconds * 1000 >= leaseMs) {
      throw new InvalidArgumentError(
        'everySeconds',
        everySeconds,
        `it must be shorter than the lease (${leaseMs / 1000} s), or the lease ends between renewals`,
      );
    }
    return Math.max(1, Math.round(everySeconds * 1000));
  }

  /**
   * Stops the keep-alive of a task that is being released, so that no renewal races the
   * release; a fenced release of an older admission leaves a newer admission's keep-alive be.
   */
  private stopKeepAliveFor(model: string, taskId: string, token: number | undefined): void {
    if (this.keepAlives.size === 0) return;
    const running = this.keepAlives.get(pairKey(model, taskId));
    if (!running) return;
    if (token === undefined || running.token === undefined || running.token === token) {
      running.keeper.stop();
    }
  }

  private markInFlight(id: string): InFlightRelease {
    const marker: InFlightRelease = { superseded: false };
    const markers = this.releasesInFlight.get(id) ?? new Set();
    markers.add(marker);
    this.releasesInFlight.set(id, markers);
    return marker;
  }

  private unmarkInFlight(id: string, marker: InFlightRelease): void {
    const markers = this.releasesInFlight.get(id);
    markers?.delete(marker);
    if (markers?.size === 0) this.releasesInFlight.delete(id);
  }

  /** Marks the task's unfenced releases in flight as displaced by an acquire; returns them. */
  private supersedeReleasesInFlight(model: string, taskId: string): InFlightRelease[] {
    if (this.releasesInFlight.size === 0) return [];
    const markers = [...(this.releasesInFlight.get(pairKey(model, taskId)) ?? [])];
    for (const marker of markers) marker.superseded = true;
    return markers;
  }

  /**
   * The acquire that displaced these releases failed: one still in flight may queue itself
   * again if it fails, and one that already failed is queued now.
   */
  private reinstate(model: string, taskId: string, markers: InFlightRelease[]): void {
    for (const marker of markers) {
      marker.superseded = false;
      if (marker.failedWith !== undefined) {
        this.pending.add(model, taskId, undefined, marker.failedWith);
        marker.failedWith = undefined;
      }
    }
  }

  /** The call's limits: synchronous for a limits map, a promise for a limits function. */
  private limitsOf(
    model: string,
    operation: GateOperation,
    explicit?: GateLimit,
  ): ResolvedLimits | Promise<ResolvedLimits> {
    const unreadable = (error: unknown) =>
      // A limit that cannot be read (its database is down) cannot be enforced either.
      error instanceof QueueGateError ? error : new GateUnavailableError(model, operation, error);
    try {
      const limits = resolveLimits(model, explicit, this.config.limits, this.config.defaultLimit);
      return limits instanceof Promise
        ? limits.catch((error: unknown) => Promise.reject(unreadable(error)))
        : limits;
    } catch (error) {
      throw unreadable(error);
    }
  }

  /** A store call, bounded by `commandTimeoutMs`; any failure becomes `GateUnavailableError`. */
  private call<T>(model: string, operation: GateOperation, work: () => Promise<T>): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (error) {
      return Promise.reject(new GateUnavailableError(model, operation, error));
    }
    return this.deadlines.bound(
      started,
      (error) => new GateUnavailableError(model, operation, error),
    );
  }

  private bounded<T>(work: Promise<T>): Promise<T> {
    return this.deadlines.bound(work);
  }
}

function releaseOutcome({ released, stale }: ReleaseReply): ReleaseOutcome {
  return stale ? 'stale' : released ? 'landed' : 'not_held';
}

/** An acquire call whose input is checked. */
interface Admission {
  model: string;
  taskId: string;
  options: Omit<AcquireOptions, 'taskId'>;
  renew: boolean;
  leaseMs: number;
}

/** What an acquire displaced, to be put back if it fails: the releases it took over. */
interface Displaced {
  attempt: string;
  cancelled: PendingRelease[];
  superseded: InFlightRelease[];
}

/** An unfenced release awaiting its answer, and whether an acquire of its task displaced it. */
interface InFlightRelease {
  superseded: boolean;
  /** Set when it failed while displaced: the cause, kept in case the acquire fails too. */
  failedWith?: unknown;
}

function assertTaskIds(argument: string, taskIds: unknown): void {
  if (!Array.isArray(taskIds)) {
    throw new InvalidArgumentError(argument, taskIds, 'it must be an array of task ids');
  }
  taskIds.forEach((taskId) => assertTaskId(taskId));
}

function assertToken(token: unknown): asserts token is number {
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token <= 0) {
    throw new InvalidArgumentError('token', token, 'it must be a fencing token (an integer > 0)');
  }
}

function removableHolders(removable: unknown): RemovableHolder[] {
  if (!Array.isArray(removable)) {
    throw new InvalidArgumentError('removable', removable, 'it must be an array');
  }
  return removable.map((entry: unknown) => {
    if (typeof entry === 'string') {
      assertTaskId(entry);
      return { holder: entry };
    }
    const { taskId, token } = (entry ?? {}) as { taskId?: unknown; token?: unknown };
    assertTaskId(taskId);
    if (token !== undefined) assertToken(token);
    return { holder: taskId, token };
  });
}

/** A task heavier than a limit could never be admitted: say so rather than queue it forever. */
function assertCostFits(
  model: string,
  cost: number,
  tenant: string | undefined,
  { limit, perTenant }: ResolvedLimits,
): void {
  if (limit !== null && cost > limit) {
    throw new InvalidArgumentError(
      'cost',
      cost,
      `it exceeds the limit of model "${model}" (${limit}), so it could never be admitted`,
    );
  }
  if (tenant !== undefined && perTenant !== null && cost > perTenant) {
    throw new InvalidArgumentError(
      'cost',
      cost,
      `it exceeds the per-tenant share of model "${model}" (${perTenant}), so it could never be admitted`,
    );
  }
}

function durabilityOf(
  options: DurabilityOptions | undefined,
): { replicas: number; timeoutMs: number } | undefined {
  if (options === undefined) return undefined;
  const { replicas, timeoutMs = 1_000, onShortfall } = options;
  if (!Number.isSafeInteger(replicas) || replicas < 1) {
    throw new InvalidArgumentError('durability.replicas', replicas, 'it must be an integer >= 1');
  }
  assertPeriodSeconds(timeoutMs / 1000, 'durability.timeoutMs / 1000');
  if (onShortfall !== undefined && onShortfall !== 'unavailable' && onShortfall !== 'admit') {
    throw new InvalidArgumentError(
      'durability.onShortfall',
      onShortfall,
      "it must be 'unavailable' or 'admit'",
    );
  }
  return { replicas, timeoutMs };
}

/** An admission too few replicas confirmed; it was already given back. */
class ReplicationShortfall extends Error {}

/**
 * Whether an acquire that failed this way may still have admitted: not when the store refused
 * it (an error reply) or when it was already given back (too few replicas).
 */
function owesUndo(cause: unknown): boolean {
  return !(cause instanceof ReplicationShortfall) && !(cause instanceof StoreRefusal);
}
