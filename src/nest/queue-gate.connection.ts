import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { OutageNotice } from '../core/outage-notice';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../core/queue-gate';
import type { GateStoreHandle } from './create-gate-store';
import { QUEUE_GATE_OPTIONS, QUEUE_GATE_STORE_HANDLE } from './queue-gate.constants';
import type { QueueGateModuleOptions } from './queue-gate.options';

type OwnedClient = NonNullable<GateStoreHandle['ownedClient']>;

/**
 * The life of the Redis connection the module opened itself (from `redis.url` or
 * `redis.options`): connected before the first request, its errors logged once per outage,
 * closed by the gate's last shutdown hook. A client you passed in is never touched.
 */
@Injectable()
export class QueueGateConnection implements OnModuleInit {
  private readonly logger = new Logger('QueueGate');

  constructor(
    @Inject(QUEUE_GATE_STORE_HANDLE) private readonly handle: GateStoreHandle,
    @Inject(QUEUE_GATE_OPTIONS) private readonly options: QueueGateModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    this.logger.log(`Queue gate store: ${this.handle.description}.`);
    const client = this.handle.ownedClient;
    if (!client) return;
    this.reportConnectionErrors(client);
    if (client.status === 'ready') return;
    // The module's own client fails fast while disconnected, so let it connect before the
    // first request rather than answer that request 503.
    const ready = waitUntilReady(
      client,
      this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    );
    // Connection errors are retried by ioredis and reported as unavailable per call.
    if (client.status === 'wait') client.connect().catch(() => undefined);
    if (!(await ready)) {
      this.logger.warn('Redis is not reachable yet; gates answer unavailable until it is.');
    }
  }

  /** Closes the module's own client; called once the gate has delivered its queued releases. */
  async close(): Promise<void> {
    const client = this.handle.ownedClient;
    if (!client || client.status === 'end') return;
    await client.quit().catch(() => client.disconnect());
  }

  /** Logs the client's connection errors once per outage, not once per retry. */
  private reportConnectionErrors(client: OwnedClient): void {
    const outage = new OutageNotice(this.logger);
    client.on('error', (error: Error) =>
      outage.failed(`Redis connection error: ${error.message}; reconnecting.`),
    );
    client.on('ready', () => outage.recovered('Redis connection is back.'));
  }
}

function waitUntilReady(client: OwnedClient, timeoutMs: number): Promise<boolean> {
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
