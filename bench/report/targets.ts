import { BENCH } from '../config';
import { queueGateKind, unfencedQueueGateKind } from '../contenders/queue-gate.contender';
import { rawScriptsKind } from '../contenders/raw-scripts.contender';
import { redisSemaphoreKind } from '../contenders/redis-semaphore.contender';
import { evalPerCallKind } from '../contenders/eval-per-call.contender';
import { SCENARIOS } from '../sections/scenarios';
import type { WaitingResult } from '../sections/waiting';
import { num, times } from './markdown';
import type { BenchResults } from './results';
import { httpRatio, scaleRatio, throughputRatio } from './summary';

/** One of the goals the package sets itself, and how this run did against it. */
export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

const ours = queueGateKind.name;

export function evaluateTargets(results: BenchResults): Target[] {
  return [
    serviceOverhead(results),
    serverTime(results),
    unfencedServerTime(results),
    httpOverhead(results),
    memoryPerSlot(results),
    acquireAtScale(results),
    ...waitingTargets(results.waiting),
  ];
}

/** QueueGate's pairs/s over the raw scripts', in every scenario. */
function serviceOverhead({ throughput }: BenchResults): Target {
  return ratioTarget(throughput, {
    name: 'Service overhead',
    goal: 'QueueGate pairs/s ≥ 0.95× raw scripts, every load',
    scenarios: SCENARIOS,
    against: rawScriptsKind.name,
    metric: (run) => run.pairsPerSecond,
    met: (ratio) => ratio >= 0.95,
  });
}

/**
 * Server time per fenced pair (acquire, release with its token) over the EVAL-per-call gate's,
 * where every acquire is admitted. The token costs a hash field beside the set.
 */
function serverTime({ throughput }: BenchResults): Target {
  return ratioTarget(throughput, {
    name: 'Redis time per fenced pair, vs EVAL per call',
    goal: 'commandstats µs per pair ≤ 1.5× (2× at most) the EVAL-per-call gate’s, uncontended',
    scenarios: SCENARIOS,
    against: evalPerCallKind.name,
    metric: (run) => run.serverUsecPerPair,
    met: (ratio) => ratio <= 1.5,
  });
}

/** The same for a release without a token. */
function unfencedServerTime({ throughput }: BenchResults): Target {
  return ratioTarget(throughput, {
    name: 'Redis time per unfenced pair, vs EVAL per call',
    goal: 'commandstats µs per pair ≤ 1.15× the EVAL-per-call gate’s, uncontended',
    ours: unfencedQueueGateKind.name,
    scenarios: SCENARIOS,
    against: evalPerCallKind.name,
    metric: (run) => run.serverUsecPerPair,
    met: (ratio) => ratio <= 1.15,
  });
}

/** A target on QueueGate's ratio to another contender, met when it is met in every scenario. */
function ratioTarget(
  throughput: BenchResults['throughput'],
  spec: {
    name: string;
    goal: string;
    /** The contender measured; QueueGate (fenced) when omitted. */
    ours?: string;
    scenarios: typeof SCENARIOS;
    against: string;
    metric: (run: BenchResults['throughput'][number]) => number;
    met: (ratio: number) => boolean;
  },
): Target {
  const ratios = spec.scenarios.map((scenario) =>
    throughputRatio(throughput, scenario, spec.ours ?? ours, spec.against, spec.metric),
  );
  return {
    name: spec.name,
    goal: spec.goal,
    measured: spec.scenarios.map((s, i) => `${s.label}: ${times(ratios[i])}`).join('; '),
    met: ratios.every(spec.met),
  };
}

function httpOverhead({ http }: BenchResults): Target {
  const ratio = httpRatio(http, 'gated');
  return {
    name: 'HTTP, decorated vs plain route',
    goal: "`@QueueLimited` (release: 'response') req/s ≥ 0.85× the plain route",
    measured: times(ratio),
    met: ratio >= 0.85,
  };
}

function memoryPerSlot({ memory }: BenchResults): Target {
  return {
    name: 'Memory per held slot',
    goal: '≤ 150 bytes per slot (MEMORY USAGE), at 100 and 100,000 holders',
    measured: memory
      .map((m) => `${num(m.holders)}: ${num(m.keyBytesPerSlot, 1)} B (${m.encoding})`)
      .join('; '),
    met: memory.every((m) => m.keyBytesPerSlot <= 150),
  };
}

function acquireAtScale({ scale }: BenchResults): Target {
  const { small, large } = BENCH.memory;
  const latency = scaleRatio(scale, large, small, (run) => run.p50Us);
  const server = scaleRatio(scale, large, small, (run) => run.serverUsecPerAcquire);
  return {
    name: 'Acquire at 100,000 holders',
    goal: '≤ 2× the cost at 100 holders (p50 latency and Redis µs per acquire)',
    measured: `latency ${times(latency)}; Redis time ${times(server)}`,
    met: latency <= 2 && server <= 2,
  };
}

/**
 * The waiting section's targets: QueueGate's waits against redis-semaphore's polling, and its
 * order across processes as Redis saw it. Exported for the section's own entry, which has no
 * other results.
 */
export function waitingTargets(waiting: readonly WaitingResult[]): Target[] {
  const of = (name: string) => waiting.find((result) => result.contender === name);
  const [gate, semaphore] = [of(ours), of(redisSemaphoreKind.name)];
  if (!gate || !semaphore) return [];
  const p99 = gate.waitP99Ms / semaphore.waitP99Ms;
  const commands = gate.commandsPerAdmission / semaphore.commandsPerAdmission;
  const inRedis = gate.outOfOrderInRedis;
  return [
    {
      name: 'Waiting, p99 time to admission',
      goal: 'QueueGate p99 wait ≤ 0.5× redis-semaphore’s, 256 waiters on limit 64, 2 processes',
      measured: `${num(gate.waitP99Ms, 1)} vs ${num(semaphore.waitP99Ms, 1)} ms: ${times(p99)}`,
      met: p99 <= 0.5,
    },
    {
      name: 'Waiting, Redis commands per admission',
      goal: 'QueueGate ≤ 0.25× redis-semaphore’s (acquire, release and all else the clients send)',
      measured:
        `${num(gate.commandsPerAdmission, 2)} vs ` +
        `${num(semaphore.commandsPerAdmission, 2)}: ${times(commands)}`,
      met: commands <= 0.25,
    },
    {
      name: 'Waiting, FIFO across processes',
      goal: 'QueueGate: 0 pairs admitted out of the order their calls reached Redis',
      measured:
        `${inRedis === null ? 'n/a' : num(inRedis)} pairs (by the callers’ clocks: ` +
        `${num(gate.outOfOrder)}; redis-semaphore by its callers’ clocks: ` +
        `${num(semaphore.outOfOrder)})`,
      met: inRedis === 0,
    },
  ];
}
