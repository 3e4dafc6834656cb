import type { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { connect, disconnect } from '../support/redis-client';

/** A private primary and its one replica, both started by this benchmark. */
export interface ReplicaPair {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  /** From the replica's start to its link being up and the primary seeing it online, in ms. */
  readonly linkMs: number;
  /** Stops both servers, by their handles. */
  stop(): Promise<void>;
}

/** Longest wait for the replica's link, in ms. */
const LINK_TIMEOUT_MS = 10_000;

/**
 * Starts a primary and a replica of it (`--replicaof`), then waits until the replica reports
 * `master_link_status:up` and the primary lists it `state=online`: only then does `WAIT 1` have
 * a replica to count. Fails, stopping both, if that takes longer than 10 s.
 */
export async function startReplicaPair(): Promise<ReplicaPair> {
  // A diskless full sync waits 5 s (repl-diskless-sync-delay) for more replicas to join it.
  const primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
  let replica: RedisServer | undefined;
  const stop = async () => {
    await Promise.all([replica?.stop(), primary.stop()]);
  };
  try {
    const started = Date.now();
    replica = await startRedisServer({
      args: ['--replicaof', '127.0.0.1', String(primary.port)],
    });
    await waitForLink(primary.url, replica.url);
    return { primary, replica, linkMs: Date.now() - started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForLink(primaryUrl: string, replicaUrl: string): Promise<void> {
  const [primary, replica] = await Promise.all([connect(primaryUrl), connect(replicaUrl)]);
  try {
    const deadline = Date.now() + LINK_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if ((await linkUp(replica)) && (await replicaOnline(primary))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the replica's link to the primary was not up within ${LINK_TIMEOUT_MS} ms`);
  } finally {
    await Promise.all([disconnect(primary), disconnect(replica)]);
  }
}

async function linkUp(replica: Redis): Promise<boolean> {
  return /^master_link_status:up\r?$/m.test(await replica.info('replication'));
}

async function replicaOnline(primary: Redis): Promise<boolean> {
  return /^slave0:.*state=online/m.test(await primary.info('replication'));
}
