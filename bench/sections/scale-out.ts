import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  clusterPrimaries,
  directClient,
  startRedisCluster,
  type RedisCluster,
} from '../../test/support/redis-cluster';
import { BENCH } from '../config';
import type { ScaleOutReport, ScaleOutSchedule, ScaleOutTarget } from '../scale-out/protocol';
import { startScaleOutProcess } from '../scale-out/worker-process';
import { progress } from '../support/progress';
import { connect, disconnect } from '../support/redis-client';
import { callsOf, delta, snapshot, type ServerDelta } from '../support/server-stats';
import { sharedNow } from '../waiting/clock';

/** Where the gates of a point lived. */
export type Deployment = 'one Redis' | 'Cluster';

/** What one Redis node (a Cluster primary, or the one Redis) did in a point's window. */
export interface NodeLoad {
  port: number;
  /** CPU of the node's process (user + system), scaled to the window. */
  cpuUsec: number;
  /** Scripts the node ran (EVALSHA and EVAL): the acquires and releases it served. */
  scriptCalls: number;
}

/** One point: `processes` application processes against one deployment. */
export interface ScaleOutPoint {
  deployment: Deployment;
  processes: number;
  admissionsPerSecond: number;
  refused: number;
  /** CPU of every node together per admission (acquire and release), in µs. */
  cpuUsecPerAdmission: number;
  /** Cores of Redis CPU the deployment used over the window (all nodes together). */
  redisCores: number;
  nodes: NodeLoad[];
}

export interface ScaleOutResult {
  points: ScaleOutPoint[];
  /** How long the Cluster took to start and settle, in ms. */
  clusterStartMs: number;
  /** Seconds of the whole section, the Cluster's start and stop included. */
  wallSeconds: number;
}

const SCRIPTS = ['evalsha', 'eval'];

/**
 * Section 8: 1, 2 and 4 application processes, each a `QueueGate` with closed-loop callers on
 * gates nobody fills, first against the benchmark's one Redis, then with the same gates spread
 * over a private 3-shard Cluster (ioredis Cluster client). Each node's `INFO` (CPU, scripts
 * run) is read as the window opens and as it closes.
 */
export async function measureScaleOut(redisUrl: string): Promise<ScaleOutResult> {
  const started = Date.now();
  const points: ScaleOutPoint[] = [];
  const stats = await connect(redisUrl);
  try {
    for (const processes of BENCH.scaleOut.processes) {
      points.push(await measurePoint('one Redis', processes, { redisUrl }, [stats]));
    }
  } finally {
    await disconnect(stats);
  }
  progress(`scale-out: starting a ${BENCH.scaleOut.shards}-shard Cluster`);
  const cluster = await startRedisCluster({
    primaries: BENCH.scaleOut.shards,
    replicasPerPrimary: 0,
  });
  const unhook = stopOnInterrupt(cluster);
  try {
    const primaries = await clusterPrimaries(cluster.nodes[0]);
    const clients = primaries.map(({ node }) => directClient(node));
    try {
      const target = { clusterNodes: cluster.startupNodes };
      for (const processes of BENCH.scaleOut.processes) {
        points.push(await measurePoint('Cluster', processes, target, clients));
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
  } finally {
    unhook();
    await cluster.stop();
  }
  return {
    points,
    clusterStartMs: cluster.startedInMs,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

async function measurePoint(
  deployment: Deployment,
  processes: number,
  target: ScaleOutTarget,
  nodes: readonly Redis[],
): Promise<ScaleOutPoint> {
  const { callersPerProcess, gates, warmUpMs, runMs } = BENCH.scaleOut;
  progress(`scale-out: ${deployment}, ${processes} × ${callersPerProcess} callers`);
  const gatePrefix = `scale-out-${deployment === 'Cluster' ? 'cluster' : 'one'}-${processes}-`;
  const workers = await Promise.all(
    Array.from({ length: processes }, (_, p) =>
      startScaleOutProcess({
        target,
        callers: callersPerProcess,
        gates,
        gatePrefix,
        firstGate: p * callersPerProcess,
      }),
    ),
  );
  try {
    const startsAt = sharedNow() + 200;
    const schedule: ScaleOutSchedule = {
      startsAt,
      measureFrom: startsAt + warmUpMs,
      endsAt: startsAt + warmUpMs + runMs,
    };
    const reports: Promise<ScaleOutReport[]> = Promise.all(workers.map((w) => w.run(schedule)));
    // Awaited below; until then a process's early failure must not count as unhandled.
    reports.catch(() => undefined);
    const loads = await nodeLoads(nodes, schedule);
    const done = await reports;
    const admissions = done.reduce((sum, report) => sum + report.admissions, 0);
    const cpuUsec = loads.reduce((sum, load) => sum + load.cpuUsec, 0);
    return {
      deployment,
      processes,
      admissionsPerSecond: (admissions * 1000) / runMs,
      refused: done.reduce((sum, report) => sum + report.refused, 0),
      cpuUsecPerAdmission: cpuUsec / Math.max(1, admissions),
      redisCores: cpuUsec / (runMs * 1000),
      nodes: loads,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/**
 * Every node's CPU and scripts over the measured window. The counters are read as it opens and
 * as it closes; the CPU is scaled from the instants the readings came back to the window's
 * length, so that a reading late on a busy machine does not count a few ms more or less.
 */
async function nodeLoads(nodes: readonly Redis[], schedule: ScaleOutSchedule): Promise<NodeLoad[]> {
  const read = () => Promise.all(nodes.map((node) => snapshot(node)));
  await sleep(Math.max(0, schedule.measureFrom - sharedNow()));
  const before = await read();
  const openedAt = sharedNow();
  await sleep(Math.max(0, schedule.endsAt - sharedNow()));
  const after = await read();
  const scale = (schedule.endsAt - schedule.measureFrom) / (sharedNow() - openedAt);
  return nodes.map((node, i) => {
    const change: ServerDelta = delta(before[i], after[i]);
    return {
      port: Number(node.options.port),
      cpuUsec: change.cpuUsec * scale,
      scriptCalls: callsOf(change, SCRIPTS),
    };
  });
}

/** The Cluster's nodes are child processes: a signal must not leave them running. */
function stopOnInterrupt(cluster: RedisCluster): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = () => {
    void cluster.stop();
    process.exit(130);
  };
  for (const signal of signals) process.once(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
