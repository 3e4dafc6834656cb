import { spawn } from 'node:child_process';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { freePorts } from './free-ports';
import { startRedisServer, type RedisServer } from './redis-server';

/** Where one Redis node listens. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** A private Redis Cluster started by the tests, with persistence off. */
export interface RedisCluster {
  /** Every node, primaries and replicas, in the order they were started. */
  readonly nodes: RedisNode[];
  /** What to give ioredis's `Cluster` constructor: every node. */
  readonly startupNodes: RedisNode[];
  /** How long the cluster took to start and settle, in ms. */
  readonly startedInMs: number;
  /** Stops every node and waits for each to exit. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Primaries, each serving a share of the 16384 slots; at least 3. Default 3. */
  primaries?: number;
  /** Replicas of each primary. Default 1. */
  replicasPerPrimary?: number;
  /**
   * `cluster-node-timeout`, in ms: how long a node may not answer before it is held failing.
   * Default 2000: short, yet long enough that a busy CI machine does not set off a failover.
   */
  nodeTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const SLOTS = 16384;

/**
 * Starts a Redis Cluster of private `redis-server` processes (each in its own temporary dir,
 * on free ports, with its bus on a free port too), joins them with `redis-cli --cluster create`
 * and waits until every node reports `cluster_state:ok`, every slot served, every node known
 * and every replica in sync with its primary. Fails after 20 s.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  if (primaries < 3) throw new Error('redis-cli --cluster create needs at least 3 primaries');
  const started = Date.now();
  const size = primaries * (1 + replicasPerPrimary);
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  };

  try {
    // A node's port and its bus port, all distinct.
    const ports = await freePorts(2 * size);
    const launches: Promise<RedisServer>[] = [];
    for (let i = 0; i < size; i++) {
      launches.push(
        startRedisServer({
          port: ports[2 * i],
          args: [
            '--cluster-enabled',
            'yes',
            // Relative to the server's own temporary --dir.
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            // The default bus port (port + 10000) may be past 65535 for a free port.
            '--cluster-port',
            String(ports[2 * i + 1]),
            // An empty primary needs no RDB snapshot: replicas sync at once.
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      );
    }
    const settled = await Promise.allSettled(launches);
    for (const result of settled) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    const nodes = servers.map((server) => ({ host: HOST, port: server.port }));
    await redisCli([
      '--cluster',
      'create',
      ...nodes.map((node) => `${node.host}:${node.port}`),
      '--cluster-replicas',
      String(replicasPerPrimary),
      '--cluster-yes',
    ]);
    await waitUntilSettled(nodes, primaries);
    return { nodes, startupNodes: nodes, startedInMs: Date.now() - started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The primaries of a running cluster and the slot ranges each serves, as a node sees them. */
export async function clusterPrimaries(
  node: RedisNode,
): Promise<{ node: RedisNode; slots: [number, number][] }[]> {
  const client = directClient(node);
  try {
    const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const byPort = new Map<number, [number, number][]>();
    for (const [from, to, [, port]] of ranges) {
      byPort.set(port, [...(byPort.get(port) ?? []), [from, to]]);
    }
    return [...byPort].map(([port, slots]) => ({ node: { host: HOST, port }, slots }));
  } finally {
    client.disconnect();
  }
}

/**
 * An ioredis `Cluster` client of the cluster, resolved once it is ready (its slot map loaded);
 * close it with `quit()`.
 */
export async function connectCluster(
  cluster: Pick<RedisCluster, 'startupNodes'>,
  options: ClusterOptions = {},
): Promise<Cluster> {
  const client = new Cluster(cluster.startupNodes, {
    ...options,
    redisOptions: { maxRetriesPerRequest: 1, ...options.redisOptions },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('the Cluster client ended before it was ready')));
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
  return client;
}

/**
 * Deletes the keys under `prefix` on every primary (only those), one key per command since
 * the keys of one primary may lie in several slots.
 */
export async function dropClusterKeys(client: Cluster, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  for (const node of client.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const key of keys) await node.unlink(key);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** A plain connection to one node (no cluster routing); disconnect it when done. */
export function directClient(node: RedisNode): Redis {
  return new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1 });
}

function redisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && output.includes('[OK] All 16384 slots covered')) resolve();
      else reject(new Error(`redis-cli ${args.join(' ')} failed (exit ${code}):\n${output}`));
    });
  });
}

/**
 * Waits until every node says the cluster is ok with all slots served and every node known,
 * sees `primaries` primaries, and, if a replica, has its link to its primary up.
 */
async function waitUntilSettled(nodes: RedisNode[], primaries: number): Promise<void> {
  const clients = nodes.map(directClient);
  try {
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline) {
      const states = await Promise.all(clients.map((client) => nodeState(client, nodes.length)));
      const unsettled = states.map((problem, i) => [nodes[i].port, problem] as const);
      const problems = unsettled.filter(([, problem]) => problem !== undefined);
      if (problems.length === 0) {
        const seen = await clusterPrimaries(nodes[0]);
        if (seen.length === primaries) return;
        last = `${seen.length} primaries serve slots, not ${primaries}`;
      } else {
        last = problems.map(([port, problem]) => `${port}: ${problem}`).join('; ');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the cluster did not settle within 20 s (${last})`);
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/** What keeps a node from being settled, or undefined when it is. */
async function nodeState(client: Redis, size: number): Promise<string | undefined> {
  try {
    const info = parseInfo((await client.call('CLUSTER', 'INFO')) as string);
    if (info.cluster_state !== 'ok') return `cluster_state:${info.cluster_state}`;
    if (Number(info.cluster_slots_ok) !== SLOTS) return `cluster_slots_ok:${info.cluster_slots_ok}`;
    if (Number(info.cluster_known_nodes) !== size) {
      return `cluster_known_nodes:${info.cluster_known_nodes}`;
    }
    const replication = parseInfo(await client.info('replication'));
    if (replication.role === 'slave' && replication.master_link_status !== 'up') {
      return `master_link_status:${replication.master_link_status}`;
    }
    return undefined;
  } catch (error) {
    return String(error);
  }
}

/** `field:value` lines of INFO or CLUSTER INFO. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}
