import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { withDeadline } from '../core/deadline';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, QUEUE_GATE_OPTIONS } from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';
import type { RequestSlot } from './request-slot';

/**
 * The slots of `release: 'response'` requests (and `@Sse()` routes) still open, so that
 * shutdown can end their responses before their slots go back.
 */
@Injectable()
export class ResponseSlotRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueGate');
  private readonly slots = new Set<RequestSlot>();

  constructor(@Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions) {}

  /** Registers an open response's slot until it settles. */
  track(slot: RequestSlot): void {
    this.slots.add(slot);
  }

  /** Forgets a slot once it has settled (released or handed over to its task). */
  untrack(slot: RequestSlot): void {
    this.slots.delete(slot);
  }

  /**
   * Ends the responses still open, and waits until each one's slot has gone back. A stream's
   * slot is its stream: released while the stream still flows, another instance could admit a
   * stream in its place while this one still uses the backend. A response that does not end
   * within `shutdownTimeoutMs` (a transport that ignores the end) has its slot released anyway,
   * so that the shutdown cannot hang on it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const slots = [...this.slots];
    if (slots.length === 0) return;
    const timeoutMs = this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    try {
      await withDeadline(Promise.all(slots.map((slot) => slot.endResponse())), timeoutMs);
    } catch {
      this.logger.warn(
        `Responses still open ${timeoutMs} ms after they were ended at shutdown; ` +
          'their slots are released now.',
      );
      await Promise.all(slots.map((slot) => slot.release()));
    }
  }
}
