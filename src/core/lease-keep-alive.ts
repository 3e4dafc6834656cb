import type { GateLogger } from './gate-logger';

/** A running keep-alive of one lease, as returned by `keepAlive`. */
export interface KeepAliveHandle {
  /** Stops renewing; the lease then runs to its end unless released. Idempotent. */
  stop(): void;
  /** False once stopped, released, or lost. */
  readonly active: boolean;
  /** True when a renewal found the lease already gone, or held by a newer admission. */
  readonly lost: boolean;
}

/** What a {@link LeaseKeepAlive} is made of. */
export interface LeaseKeepAliveSettings {
  /** Names the lease in log lines. */
  label: string;
  /** Renews the lease once: true when renewed, false when it was lost. May throw when unreachable. */
  renew: () => Promise<boolean>;
  /** Delay between renewals, in ms. */
  everyMs: number;
  /** Called once when a renewal finds the lease lost. */
  onLost: () => void;
  /** Called once when the keep-alive stops, for whatever reason. */
  onStop: () => void;
  logger: GateLogger;
}

/**
 * Renews one lease every `everyMs` until stopped or lost. Renewals never overlap; a renewal that
 * fails to reach the store is logged and tried again at the next tick, since the lease is most
 * likely still running.
 */
export class LeaseKeepAlive implements KeepAliveHandle {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private leaseLost = false;

  constructor(private readonly settings: LeaseKeepAliveSettings) {
    this.arm();
  }

  get active(): boolean {
    return !this.stopped;
  }

  get lost(): boolean {
    return this.leaseLost;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.settings.onStop();
  }

  private arm(): void {
    this.timer = setTimeout(() => void this.tick(), this.settings.everyMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const renewed = await this.settings.renew();
      if (this.stopped) return;
      if (!renewed) {
        this.leaseLost = true;
        this.stop();
        this.settings.onLost();
        return;
      }
    } catch (error) {
      if (this.stopped) return;
      this.settings.logger.warn(
        `Keep-alive of ${this.settings.label} could not renew: ${String(error)}`,
      );
    }
    this.arm();
  }
}
