import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { BENCH } from '../config';
import { progress } from '../support/progress';
import { callsOf, delta, snapshot, usecOf } from '../support/server-stats';
import { latencyPercentiles, rotate } from '../support/stats';
import type { HeldGates } from './held-gates';

/** Acquire cost on a gate already held by `holders` slots, in one round. */
export interface ScaleRun {
  holders: number;
  round: number;
  p50Us: number;
  p99Us: number;
  /** commandstats usec of the acquire script per call. */
  serverUsecPerAcquire: number;
}

const SCRIPT_COMMANDS = ['evalsha', 'eval'];

/**
 * Section 5: sequential acquires (one in flight, so latency is the call's own) on the small
 * and the large gate, alternating each round. The server's counters are read around each batch
 * of acquires only; the batch's slots are released outside that window, which also keeps the
 * small gate below the size where Redis changes its encoding.
 */
export async function measureScale(statsClient: Redis, gates: HeldGates): Promise<ScaleRun[]> {
  const sizes = [BENCH.memory.small, BENCH.memory.large];
  const runs: ScaleRun[] = [];
  for (let round = 0; round < BENCH.rounds; round++) {
    progress(`acquire at scale: round ${round + 1} of ${BENCH.rounds}`);
    for (const holders of rotate(sizes, round)) {
      runs.push({ holders, round, ...(await measureGate(statsClient, gates, holders)) });
    }
  }
  return runs;
}

async function measureGate(statsClient: Redis, gates: HeldGates, holders: number) {
  const model = gates.modelOf(holders);
  const latencies: number[] = [];
  let usec = 0;
  let calls = 0;
  for (let batch = 0; batch < BENCH.scale.batchesPerRound; batch++) {
    const taken: string[] = [];
    const before = await snapshot(statsClient);
    for (let i = 0; i < BENCH.scale.batch; i++) {
      const asked = performance.now();
      const slot = await gates.gate.acquire(model);
      latencies.push((performance.now() - asked) * 1000);
      taken.push(slot.taskId);
    }
    const server = delta(before, await snapshot(statsClient));
    usec += usecOf(server, SCRIPT_COMMANDS);
    calls += callsOf(server, SCRIPT_COMMANDS);
    await Promise.all(taken.map((taskId) => gates.gate.release(model, taskId)));
  }
  const { p50, p99 } = latencyPercentiles(latencies);
  return { p50Us: p50, p99Us: p99, serverUsecPerAcquire: usec / calls };
}
