import type { GateLogger } from './gate-logger';

/**
 * Logs an outage once when it begins and once when it ends, however many calls meet it in
 * between: a Redis that is down for a minute must not write a line per request or per retry.
 */
export class OutageNotice {
  private down = false;

  constructor(private readonly logger: GateLogger) {}

  /** True while an outage is noted. */
  get inOutage(): boolean {
    return this.down;
  }

  /** Something failed: warns with `message` if this begins an outage. */
  failed(message: string): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(message);
  }

  /** Something worked: logs `message` if this ends an outage. */
  recovered(message: string): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(message);
  }
}
