import type { Cluster, Redis } from 'ioredis';
import type { AdmissionListener, HandedAdmission } from '../../core/gate-store';
import { isCluster } from './cluster-client';

/**
 * One subscriber connection per store, opened on the first wait, with one subscription per
 * gate however many calls wait on it. Classic pub/sub on a standalone or Sentinel client,
 * sharded pub/sub (`SSUBSCRIBE`) on a Cluster, where a gate's channel lives on its shard.
 */
export class AdmissionSubscriber {
  private connection: Redis | Cluster | undefined;
  private closed = false;
  /** Resolves once the connection is ready for its first SUBSCRIBE. */
  private connected: Promise<void> | undefined;
  /** Per channel: its listeners, and the subscribe every listener waits for. */
  private readonly channels = new Map<
    string,
    { listeners: Set<AdmissionListener>; ready: Promise<unknown> }
  >();

  constructor(
    private readonly client: Redis | Cluster,
    private readonly sharded: boolean,
  ) {}

  /** Listens on `channel`; resolves once subscribed. The returned function stops listening. */
  async listen(channel: string, listener: AdmissionListener): Promise<() => Promise<void>> {
    // After close, a new connection would have no one to close it and keep the process alive.
    if (this.closed) throw new Error('the gate store is closed');
    const { connection, connected } = this.open();
    let subscribed = this.channels.get(channel);
    if (!subscribed) {
      const ready = connected.then(() =>
        this.sharded ? connection.ssubscribe(channel) : connection.subscribe(channel),
      );
      subscribed = { listeners: new Set(), ready };
      this.channels.set(channel, subscribed);
      // A failed subscribe is retried by the next listener.
      ready.catch(() => {
        if (this.channels.get(channel)?.ready === ready) this.channels.delete(channel);
      });
    }
    subscribed.listeners.add(listener);
    try {
      await subscribed.ready;
    } catch (error) {
      subscribed.listeners.delete(listener);
      throw error;
    }
    return () => this.stop(channel, listener);
  }

  /** Closes the connection, if one was opened. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.connected = undefined;
    this.channels.clear();
    if (!connection) return;
    await connection.quit().catch(() => connection.disconnect());
  }

  private open(): { connection: Redis | Cluster; connected: Promise<void> } {
    if (this.connection && this.connected) {
      return { connection: this.connection, connected: this.connected };
    }
    const connection = this.copyForSubscribing();
    // The copy keeps the client's options: with lazyConnect it would not connect by itself,
    // and without an offline queue a SUBSCRIBE sent before it is ready would fail.
    this.connected = new Promise<void>((resolve) => connection.once('ready', () => resolve()));
    if (connection.status === 'wait') connection.connect().catch(() => undefined);
    // Errors surface as failed subscribes or lost messages, which the heartbeat covers; an
    // 'error' event without a listener would be logged by ioredis as unhandled.
    connection.on('error', () => undefined);
    connection.on(this.sharded ? 'smessage' : 'message', (channel: string, message: string) =>
      this.deliver(channel, message),
    );
    this.connection = connection;
    return { connection, connected: this.connected };
  }

  /**
   * A copy of the client to subscribe with. A Cluster copy gets `shardedSubscribers`: without
   * it ioredis sends every SSUBSCRIBE through one node, and one for a slot that node does not
   * serve never completes, so waiters would learn of admissions only by the heartbeat.
   */
  private copyForSubscribing(): Redis | Cluster {
    if (this.sharded && isCluster(this.client)) {
      return this.client.duplicate([], { shardedSubscribers: true });
    }
    return this.client.duplicate();
  }

  private deliver(channel: string, message: string): void {
    const listeners = this.channels.get(channel)?.listeners;
    if (!listeners || listeners.size === 0) return;
    const admissions = parseAdmissions(message);
    if (admissions.length === 0) return;
    for (const listener of listeners) listener(admissions);
  }

  private async stop(channel: string, listener: AdmissionListener): Promise<void> {
    const subscribed = this.channels.get(channel);
    if (!subscribed?.listeners.delete(listener) || subscribed.listeners.size > 0) return;
    this.channels.delete(channel);
    const connection = this.connection;
    if (!connection) return;
    await (this.sharded ? connection.sunsubscribe(channel) : connection.unsubscribe(channel));
  }
}

/** The scripts announce `[[holder, attempt, token, expiresAt, used, tenantUsed], …]` as JSON. */
function parseAdmissions(message: string): HandedAdmission[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length < 6) return [];
    const [holder, attempt, token, expiresAt, used, tenantUsed] = entry as unknown[];
    return [
      {
        holder: String(holder),
        attempt: String(attempt),
        token: Number(token),
        expiresAt: Number(expiresAt),
        used: Number(used),
        tenantUsed: Number(tenantUsed),
      },
    ];
  });
}
