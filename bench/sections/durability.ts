import type { Redis } from 'ioredis';
import type { Contender } from '../contenders/contender';
import { BENCH } from '../config';
import { DURABILITY_CONTENDERS } from '../durability/contenders';
import { startReplicaPair, type ReplicaPair } from '../durability/replica-pair';
import { runClosedLoop } from '../support/closed-loop';
import { progress } from '../support/progress';
import { connect, disconnect } from '../support/redis-client';
import { callsOf, delta, snapshot } from '../support/server-stats';
import { latencyPercentiles, rotate } from '../support/stats';
import type { Scenario } from './scenarios';

/** The loads of the comparison: uncontended, as in section 1. */
export const DURABILITY_LOADS: readonly Scenario[] = [
  { label: '1 caller', callers: 1, limit: BENCH.uncontendedLimit },
  { label: '16 callers', callers: 16, limit: BENCH.uncontendedLimit },
];

/** One run of one contender at one load in one round. */
export interface DurabilityRun {
  load: Scenario;
  contender: string;
  round: number;
  pairsPerSecond: number;
  p50Us: number;
  p99Us: number;
  /** WAIT commands the primary ran per admitted pair: 1 with durability, 0 without. */
  waitsPerPair: number;
  /** The primary's CPU per admitted pair (`INFO cpu`). */
  primaryCpuUsecPerPair: number;
}

/** What the durability section measured. */
export interface DurabilityResult {
  runs: DurabilityRun[];
  /** From the replica's start to its link being up, in ms. */
  replicaLinkMs: number;
  /** Seconds of the whole section, servers' start and stop included. */
  wallSeconds: number;
}

/**
 * Section 7: QueueGate with and without `durability: { replicas: 1 }` on a private primary with
 * one replica of its own (never the main benchmark's server, which has no replica for WAIT to
 * count). Each round runs each load's two contenders back to back in a rotated order, each on
 * its own connection and gate, emptied before every run; the primary's counters are read around
 * every run on a separate connection.
 */
export async function measureDurability(): Promise<DurabilityResult> {
  const started = Date.now();
  const pair = await startReplicaPair();
  const unhook = stopOnInterrupt(pair);
  progress(
    `durability: primary on port ${pair.primary.port}, replica on port ${pair.replica.port}, ` +
      `link up in ${pair.linkMs} ms`,
  );
  let runs: DurabilityRun[];
  try {
    runs = await compare(pair.primary.url);
  } finally {
    unhook();
    await pair.stop();
  }
  return { runs, replicaLinkMs: pair.linkMs, wallSeconds: (Date.now() - started) / 1000 };
}

async function compare(url: string): Promise<DurabilityRun[]> {
  const stats = await connect(url);
  const clients = await Promise.all(DURABILITY_CONTENDERS.map(() => connect(url)));
  try {
    const byLoad = DURABILITY_LOADS.map((load, index) =>
      DURABILITY_CONTENDERS.map((kind, k) =>
        kind.create(clients[k], `durability-${index}`, load.limit),
      ),
    );
    progress('durability: warming up');
    for (const [index, load] of DURABILITY_LOADS.entries()) {
      for (const contender of byLoad[index]) {
        await contender.reset();
        await runClosedLoop(contender, load.callers, BENCH.warmUpMs);
      }
    }
    const { rounds } = BENCH.durability;
    const runs: DurabilityRun[] = [];
    for (let round = 0; round < rounds; round++) {
      progress(`durability: round ${round + 1} of ${rounds}`);
      for (const [index, load] of DURABILITY_LOADS.entries()) {
        for (const contender of rotate(byLoad[index], round + index)) {
          runs.push(await measureOne(contender, load, round, stats));
        }
      }
    }
    for (const contenders of byLoad) for (const contender of contenders) await contender.reset();
    return runs;
  } finally {
    await Promise.all([stats, ...clients].map(disconnect));
  }
}

async function measureOne(
  contender: Contender,
  load: Scenario,
  round: number,
  stats: Redis,
): Promise<DurabilityRun> {
  await contender.reset();
  const before = await snapshot(stats);
  const loop = await runClosedLoop(contender, load.callers, BENCH.durability.runMs);
  const server = delta(before, await snapshot(stats));
  const pairs = Math.max(1, loop.pairs);
  const { p50, p99 } = latencyPercentiles(loop.acquireUs);
  return {
    load,
    contender: contender.name,
    round,
    pairsPerSecond: (loop.pairs * 1000) / loop.elapsedMs,
    p50Us: p50,
    p99Us: p99,
    waitsPerPair: callsOf(server, ['wait']) / pairs,
    primaryCpuUsecPerPair: server.cpuUsec / pairs,
  };
}

/**
 * The two servers are child processes: a signal must not leave them running. Their stop sends
 * SIGKILL at once, before anything else runs; returns how to take the hook off again.
 */
function stopOnInterrupt(pair: ReplicaPair): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = () => {
    void pair.stop();
    process.exit(130);
  };
  for (const signal of signals) process.once(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
