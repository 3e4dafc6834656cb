import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DeadlineExceededError, withDeadline } from '../core/deadline';
import type { DoctorFinding } from '../core/doctor';
import { errorMessage } from '../core/errors/error-message';
import { QueueGateService } from '../nest/queue-gate.service';

/** Default bound on one health check, in ms. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1_000;

/** Options of {@link QueueGateHealthIndicator.isHealthy}. */
export interface QueueGateHealthOptions {
  /** How long the store may take to answer the doctor's checks before the gate is down. */
  timeoutMs?: number;
}

/** What the indicator reports beside its status. */
export interface QueueGateHealthDetails extends Record<string, unknown> {
  /** Releases waiting to be retried (`pendingReleases().queued`). */
  pendingReleases: number;
  /** Releases given up at the queue's bound (`pendingReleases().dropped`). */
  droppedReleases: number;
  /** Ended leases this instance's acquires reclaimed since it started (a leak signal). */
  reclaimedLeases: number;
  /** The doctor's findings of severity `warning` or `error`. */
  doctor: DoctorFinding[];
}

/**
 * A `@nestjs/terminus` health indicator for the gate: down when the store does not answer the
 * doctor's checks within `timeoutMs`, or when a check finds an error; up otherwise. Provided by
 * `QueueGateTerminusModule`; finds `QueueGateService` wherever `QueueGateModule` was imported.
 */
@Injectable()
export class QueueGateHealthIndicator implements OnModuleInit {
  private gate?: QueueGateService;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Finds the gate wherever `QueueGateModule` was imported. */
  onModuleInit(): void {
    this.gate = this.moduleRef.get(QueueGateService, { strict: false });
  }

  /**
   * Runs the doctor, bounded by `timeoutMs` (default 1000), and reports the gate as `key`.
   * Never throws for an unreachable store: that is a `down` result, which Terminus answers
   * with 503.
   */
  async isHealthy<const Key extends string = 'queue-gate'>(
    key: Key = 'queue-gate' as Key,
    { timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS }: QueueGateHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive number of ms, got ${timeoutMs}.`);
    }
    const gate = (this.gate ??= this.moduleRef.get(QueueGateService, { strict: false }));
    const indicator = this.health.check(key);
    const findings = await this.findings(gate, timeoutMs);
    const { queued, dropped } = gate.pendingReleases();
    const details: QueueGateHealthDetails = {
      pendingReleases: queued,
      droppedReleases: dropped,
      reclaimedLeases: gate.reclaimedLeases(),
      doctor: findings.filter((f) => f.severity === 'warning' || f.severity === 'error'),
    };
    const down = findings.some((f) => f.severity === 'error' || f.check === 'reachable');
    return down ? indicator.down(details) : indicator.up(details);
  }

  private async findings(gate: QueueGateService, timeoutMs: number): Promise<DoctorFinding[]> {
    try {
      return await withDeadline(gate.doctor(), timeoutMs);
    } catch (error) {
      const why =
        error instanceof DeadlineExceededError
          ? `no answer within ${timeoutMs} ms`
          : errorMessage(error);
      return [
        {
          severity: 'error',
          check: 'reachable',
          message: `The store did not answer the checks (${why}).`,
        },
      ];
    }
  }
}
