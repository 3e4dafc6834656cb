import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { withDeadline } from '../core/deadline';
import { QueueGate } from '../core/queue-gate';
import type { GateStoreHandle } from './create-gate-store';
import { eventNamesOf } from './event-names';
import type { LifecycleEmitter } from './lifecycle-emitter';
import {
  QUEUE_GATE_EVENT_EMITTER,
  QUEUE_GATE_OPTIONS,
  QUEUE_GATE_STORE_HANDLE,
} from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';
import type { RequestSlot } from './request-slot';
import { TaskLifecycleEvent } from './task-lifecycle.events';

/** Default bound on shutdown's delivery of queued releases, in ms. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * The gate for providers, controllers and workers: `acquire`, `release`, `extend`,
 * `keepAlive`, `reacquire`, `usage`, `holders`, `reconcile`. See {@link QueueGate} for each
 * method's contract. A keep-alive that finds its lease lost emits the `leaseLost` event when
 * an event emitter is present. On shutdown it ends the responses of `release: 'response'`
 * requests still open (their slots go back once they have ended), then, in the last hook,
 * delivers queued releases (bounded by `shutdownTimeoutMs`) and closes the Redis client the
 * module opened; a client you passed in stays open.
 */
@Injectable()
export class QueueGateService
  extends QueueGate
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** Slots of `release: 'response'` requests still open, whose responses shutdown ends. */
  private readonly responseSlots = new Set<RequestSlot>();

  constructor(
    @Inject(QUEUE_GATE_STORE_HANDLE) private readonly handle: GateStoreHandle,
    @Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions,
    @Inject(QUEUE_GATE_EVENT_EMITTER) emitter: LifecycleEmitter | null,
  ) {
    super(handle.store, {
      ...options,
      logger: new Logger('QueueGate'),
      onLeaseLost: (model, taskId, token) =>
        emitter?.emit(
          eventNamesOf(options).leaseLost,
          new TaskLifecycleEvent(model, taskId, { token }),
        ),
    });
  }

  async onModuleInit(): Promise<void> {
    this.logger.log(`Queue gate store: ${this.handle.description}.`);
    const client = this.handle.ownedClient;
    // The module's own client fails fast while disconnected, so let it connect before the
    // first request rather than answer that request 503.
    if (client) this.reportConnectionErrors(client);
    if (client && client.status !== 'ready') {
      const ready = waitUntilReady(client, this.options.commandTimeoutMs ?? 2_000);
      // Connection errors are retried by ioredis and reported as unavailable per call.
      if (client.status === 'wait') client.connect().catch(() => undefined);
      if (!(await ready))
        this.logger.warn('Redis is not reachable yet; gates answer unavailable until it is.');
    }
  }

  /** Logs the module's own client's connection errors once per outage, not once per retry. */
  private reportConnectionErrors(client: NonNullable<GateStoreHandle['ownedClient']>): void {
    let down = false;
    client.on('error', (error: Error) => {
      if (down) return;
      down = true;
      this.logger.warn(`Redis connection error: ${error.message}; reconnecting.`);
    });
    client.on('ready', () => {
      if (down) this.logger.log('Redis connection is back.');
      down = false;
    });
  }

  /** @internal Registers a streaming request's slot for release at shutdown. */
  trackResponseSlot(slot: RequestSlot): void {
    this.responseSlots.add(slot);
  }

  /** @internal */
  untrackResponseSlot(slot: RequestSlot): void {
    this.responseSlots.delete(slot);
  }

  /**
   * Ends the responses of `release: 'response'` requests still open, and waits until each
   * one's slot has gone back. A stream's slot is its stream: released while the stream still
   * flows, another instance could admit a stream in its place while this one still uses the
   * backend. Ending the streams first keeps the gate strict through a shutdown. A response
   * that does not end within `shutdownTimeoutMs` (a transport that ignores the end) has its
   * slot released anyway, so that the shutdown cannot hang on it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const slots = [...this.responseSlots];
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

  /**
   * Delivers queued releases (bounded by `shutdownTimeoutMs`), then closes the Redis client
   * the module opened. This is the last hook: workers that drain in their own
   * `beforeApplicationShutdown` (in any module, at any depth) still release through an open
   * gate, and a release they could not deliver is in the queue flushed here.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.close(this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    const client = this.handle.ownedClient;
    if (!client || client.status === 'end') return;
    await client.quit().catch(() => client.disconnect());
  }
}

function waitUntilReady(
  client: NonNullable<GateStoreHandle['ownedClient']>,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const onReady = () => done(true);
    function done(ready: boolean) {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    }
    client.once('ready', onReady);
  });
}
