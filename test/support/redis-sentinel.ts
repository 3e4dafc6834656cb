import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts } from './free-ports';
import { parseInfo, type RedisNode } from './redis-cluster';
import { startRedisServer, waitForPing, type RedisServer } from './redis-server';

/** A private Sentinel deployment started by the tests: a primary, a replica, 3 sentinels. */
export interface SentinelGroup {
  /** The name the sentinels monitor the primary by (ioredis's `name` option). */
  readonly masterName: string;
  /** What to give ioredis's `sentinels` option. */
  readonly sentinels: RedisNode[];
  /** The primary at start. */
  readonly primary: RedisNode;
  /** The replica at start. */
  readonly replica: RedisNode;
  /** How long the group took to start and settle, in ms. */
  readonly startedInMs: number;
  /** Stops the sentinels, then the servers, and waits for each to exit. */
  stop(): Promise<void>;
}

/** Options of {@link startSentinelGroup}. */
export interface SentinelGroupOptions {
  /** `down-after-milliseconds`: how long the primary may not answer before it is down. */
  downAfterMs?: number;
  /** `failover-timeout`, in ms. */
  failoverTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const SENTINELS = 3;
const QUORUM = 2;

/**
 * Starts a primary and its replica (private `redis-server`s, persistence off), waits until the
 * replica is in sync, then starts 3 sentinels (`redis-server <config> --sentinel`, quorum 2,
 * short down-after and failover timeouts), each with its config in its own temporary dir. Waits
 * until every sentinel sees the primary up, the replica linked and the 2 other sentinels;
 * fails after 20 s.
 */
export async function startSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<SentinelGroup> {
  const started = Date.now();
  const masterName = 'qgate-primary';
  const downAfterMs = options.downAfterMs ?? 1_000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 3_000;
  const servers: RedisServer[] = [];
  const sentinelProcesses: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(sentinelProcesses.splice(0).map(kill));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  };

  try {
    const [primaryPort, replicaPort, ...sentinelPorts] = await freePorts(2 + SENTINELS);
    // An empty primary needs no RDB snapshot: the replica syncs at once.
    const noDelay = ['--repl-diskless-sync-delay', '0'];
    servers.push(await startRedisServer({ port: primaryPort, args: noDelay }));
    servers.push(
      await startRedisServer({
        port: replicaPort,
        args: [...noDelay, '--replicaof', HOST, String(primaryPort)],
      }),
    );
    const primary = { host: HOST, port: primaryPort };
    const replica = { host: HOST, port: replicaPort };
    await waitUntil(`replica ${replicaPort} in sync`, async () => {
      const replication = parseInfo(await ask(replica, 'INFO', 'replication'));
      return replication.master_link_status === 'up';
    });

    for (const port of sentinelPorts) {
      const dir = mkdtempSync(join(tmpdir(), 'qgate-sentinel-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, 'sentinel.conf');
      writeFileSync(
        config,
        [
          `port ${port}`,
          `bind ${HOST}`,
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${masterName} ${HOST} ${primaryPort} ${QUORUM}`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
      sentinelProcesses.push(child);
      await waitForPing(port, child);
    }
    const sentinels = sentinelPorts.map((port) => ({ host: HOST, port }));

    await waitUntil('every sentinel sees the primary, the replica and the others', async () => {
      for (const sentinel of sentinels) {
        const master = fields(await ask(sentinel, 'SENTINEL', 'MASTER', masterName));
        if (master.flags !== 'master') return false;
        if (Number(master['num-other-sentinels']) !== SENTINELS - 1) return false;
        const replicas = (await ask(sentinel, 'SENTINEL', 'REPLICAS', masterName)) as string[][];
        const seen = replicas.map(fields);
        if (seen.length !== 1) return false;
        if (Number(seen[0].port) !== replicaPort || seen[0].flags !== 'slave') return false;
        if (seen[0]['master-link-status'] !== 'ok') return false;
      }
      return true;
    });
    return {
      masterName,
      sentinels,
      primary,
      replica,
      startedInMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One command on a short-lived plain connection. */
async function ask(node: RedisNode, ...command: string[]): Promise<any> {
  const client = new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    return await client.call(command[0], ...command.slice(1));
  } finally {
    client.disconnect();
  }
}

/** A flat `[field, value, field, value, …]` reply as an object. */
function fields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

async function waitUntil(label: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      if (await condition()) return;
    } catch (error) {
      last = error as Error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within 20 s: ${label}${last ? ` (${last.message})` : ''}`);
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
