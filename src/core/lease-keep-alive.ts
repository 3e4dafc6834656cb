import type { GateLogger } from './gate-logger';

/** A running keep-alive of one lease, as returned by `keepAlive`. */
export interface KeepAliveHandle {
  /** Stops renewing; the lease then runs to its end unless released. Idempotent. */
  stop(): void;
  /** False once stopped, released, or lost. */
  readonly active: boolean;
  /** True when a renewal found the lease already gone. */
  readonly lost: boolean;
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

  constructor(
    private readonly label: string,
    private readonly renew: () => Promise<boolean>,
    private readonly everyMs: number,
    private readonly onLost: () => void,
    private readonly onStop: () => void,
    private readonly logger: GateLogger,
  ) {
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
    this.onStop();
  }

  private arm(): void {
    this.timer = setTimeout(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const renewed = await this.renew();
      if (this.stopped) return;
      if (!renewed) {
        this.leaseLost = true;
        this.stop();
        this.onLost();
        return;
      }
    } catch (error) {
      if (this.stopped) return;
      this.logger.warn(`Keep-alive of ${this.label} could not renew: ${String(error)}`);
    }
    this.arm();
  }
}
