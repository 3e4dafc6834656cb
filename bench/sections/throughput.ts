import type { Redis } from 'ioredis';
import { CONTENDERS } from '../contenders/all';
import type { Contender } from '../contenders/contender';
import { BENCH } from '../config';
import { runClosedLoop } from '../support/closed-loop';
import { progress } from '../support/progress';
import { connect, disconnect } from '../support/redis-client';
import { callsOf, delta, snapshot, usecOf, type ServerDelta } from '../support/server-stats';
import { latencyPercentiles, rotate } from '../support/stats';
import { SCENARIOS, type Scenario } from './scenarios';

/** One run of one contender in one scenario and round, client and server side. */
export interface ThroughputRun {
  scenario: Scenario;
  contender: string;
  round: number;
  pairsPerSecond: number;
  /** Acquire attempts per second, admitted or refused. */
  attemptsPerSecond: number;
  p50Us: number;
  p99Us: number;
  refusedShare: number;
  /** commandstats usec of the contender's own commands per admitted pair (scripts included). */
  serverUsecPerPair: number;
  /** Redis process CPU per admitted pair. */
  cpuUsecPerPair: number;
  /** Commands run per admitted pair, by name: the client's and those its scripts call. */
  callsPerPair: Map<string, number>;
}

/** Commands of the benchmark's own bookkeeping, left out of the per-pair counts. */
const BOOKKEEPING = ['info', 'del', 'config', 'ping'];

/**
 * Section 1 and 2: every contender in every scenario, interleaved — each round runs each
 * scenario's contenders back to back in a rotated order — so drift on a noisy machine hits all
 * of them alike. The server's counters are read around every run on a separate connection.
 */
export async function measureThroughput(url: string, statsClient: Redis): Promise<ThroughputRun[]> {
  const clients = await Promise.all(CONTENDERS.map(() => connect(url)));
  try {
    const byScenario = SCENARIOS.map((scenario, index) =>
      CONTENDERS.map((kind, k) => kind.create(clients[k], `bench-${index}`, scenario.limit)),
    );
    progress('closed loop: warming up every contender');
    for (const [index, scenario] of SCENARIOS.entries()) {
      for (const contender of byScenario[index]) {
        await contender.reset();
        await runClosedLoop(contender, scenario.callers, BENCH.warmUpMs);
      }
    }
    const runs: ThroughputRun[] = [];
    for (let round = 0; round < BENCH.rounds; round++) {
      progress(`closed loop: round ${round + 1} of ${BENCH.rounds}`);
      for (const [index, scenario] of SCENARIOS.entries()) {
        for (const contender of rotate(byScenario[index], round + index)) {
          runs.push(await measureOne(contender, scenario, round, statsClient));
        }
      }
    }
    for (const contenders of byScenario)
      for (const contender of contenders) await contender.reset();
    return runs;
  } finally {
    await Promise.all(clients.map(disconnect));
  }
}

async function measureOne(
  contender: Contender,
  scenario: Scenario,
  round: number,
  statsClient: Redis,
): Promise<ThroughputRun> {
  await contender.reset();
  const before = await snapshot(statsClient);
  const loop = await runClosedLoop(contender, scenario.callers, BENCH.runMs);
  const server = delta(before, await snapshot(statsClient));
  const pairs = Math.max(1, loop.pairs);
  const { p50, p99 } = latencyPercentiles(loop.acquireUs);
  return {
    scenario,
    contender: contender.name,
    round,
    pairsPerSecond: (loop.pairs * 1000) / loop.elapsedMs,
    attemptsPerSecond: ((loop.pairs + loop.refused) * 1000) / loop.elapsedMs,
    p50Us: p50,
    p99Us: p99,
    refusedShare: loop.refused / (loop.refused + loop.pairs),
    serverUsecPerPair: usecOf(server, contender.clientCommands) / pairs,
    cpuUsecPerPair: server.cpuUsec / pairs,
    callsPerPair: callsPerPair(server, pairs),
  };
}

function callsPerPair(server: ServerDelta, pairs: number): Map<string, number> {
  const calls = new Map<string, number>();
  for (const name of server.commands.keys()) {
    if (!BOOKKEEPING.includes(name)) calls.set(name, callsOf(server, [name]) / pairs);
  }
  return calls;
}
