import { BENCH } from '../config';
import { queueGateKind, unfencedQueueGateKind } from '../contenders/queue-gate.contender';
import { rawScriptsKind } from '../contenders/raw-scripts.contender';
import { redisSemaphoreKind } from '../contenders/redis-semaphore.contender';
import { evalPerCallKind } from '../contenders/eval-per-call.contender';
import type { Platform, Route } from '../sections/http';
import { SCENARIOS, type Scenario } from '../sections/scenarios';
import type { ThroughputRun } from '../sections/throughput';
import type { WaitingResult } from '../sections/waiting';
import { num, times } from './markdown';
import type { BenchResults } from './results';
import {
  httpAddedMs,
  httpMedian,
  httpRatio,
  scaleRatio,
  throughputMedian,
  throughputRatio,
} from './summary';

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
    ...serverTime(results),
    ...httpTargets(results.http),
    ...memoryPerSlot(results),
    acquireAtScale(results),
    ...waitingTargets(results.waiting),
  ];
}

/** The loads every closed-loop target is judged at. */
const TARGET_CALLERS = [1, 16, 256];

/** The scenarios of {@link TARGET_CALLERS}; a missing one leaves its target unmet. */
function targetScenarios(): (Scenario | undefined)[] {
  return TARGET_CALLERS.map((callers) => SCENARIOS.find((s) => s.callers === callers));
}

/** QueueGate's pairs/s over the raw scripts', at 1, 16 and 256 callers. */
function serviceOverhead({ throughput }: BenchResults): Target {
  return ratioTarget(throughput, {
    name: 'Service overhead',
    goal: 'QueueGate pairs/s ≥ 0.95× the raw scripts’, at 1, 16 and 256 callers',
    against: rawScriptsKind.name,
    metric: (run) => run.pairsPerSecond,
    unit: 'pairs/s',
    digits: 0,
    met: (ratio) => ratio >= 0.95,
  });
}

/**
 * Server time (commandstats usec of the client's own commands, scripts included) per pair,
 * where every acquire is admitted: the unfenced pair against the original EVAL gate and
 * redis-semaphore, the fenced pair (its release reads the holder's token) against the original.
 */
function serverTime({ throughput }: BenchResults): Target[] {
  const perPair = (run: ThroughputRun) => run.serverUsecPerPair;
  return [
    ratioTarget(throughput, {
      name: 'Redis time per unfenced pair, vs the original EVAL gate',
      goal: 'commandstats µs per pair ≤ 1.0× the EVAL-per-call gate’s, uncontended',
      ours: unfencedQueueGateKind.name,
      against: evalPerCallKind.name,
      metric: perPair,
      unit: 'µs',
      digits: 1,
      met: (ratio) => ratio <= 1.0,
    }),
    ratioTarget(throughput, {
      name: 'Redis time per unfenced pair, vs redis-semaphore',
      goal: 'commandstats µs per pair ≤ 1.1× redis-semaphore’s, uncontended',
      ours: unfencedQueueGateKind.name,
      against: redisSemaphoreKind.name,
      metric: perPair,
      unit: 'µs',
      digits: 1,
      met: (ratio) => ratio <= 1.1,
    }),
    ratioTarget(throughput, {
      name: 'Redis time per fenced pair, vs the original EVAL gate',
      goal: 'commandstats µs per pair ≤ 1.5× the EVAL-per-call gate’s, uncontended',
      against: evalPerCallKind.name,
      metric: perPair,
      unit: 'µs',
      digits: 1,
      met: (ratio) => ratio <= 1.5,
    }),
  ];
}

/**
 * A target on a contender's ratio to another at 1, 16 and 256 callers, met when it is met at
 * every one. The ratio is the median of ratios within a round; the figures beside it are each
 * side's median over rounds.
 */
function ratioTarget(
  throughput: readonly ThroughputRun[],
  spec: {
    name: string;
    goal: string;
    /** The contender measured; QueueGate (fenced) when omitted. */
    ours?: string;
    against: string;
    metric: (run: ThroughputRun) => number;
    unit: string;
    digits: number;
    met: (ratio: number) => boolean;
  },
): Target {
  const mine = spec.ours ?? ours;
  const parts = targetScenarios().map((scenario, i) => {
    if (!scenario) return { text: `${TARGET_CALLERS[i]} callers: not measured`, met: false };
    const ratio = throughputRatio(throughput, scenario, mine, spec.against, spec.metric);
    const [a, b] = [mine, spec.against].map((name) =>
      num(throughputMedian(throughput, scenario, name, spec.metric), spec.digits),
    );
    return {
      text: `${scenario.label}: ${times(ratio)} (${a} vs ${b} ${spec.unit})`,
      met: Number.isFinite(ratio) && spec.met(ratio),
    };
  });
  return {
    name: spec.name,
    goal: spec.goal,
    measured: parts.map((part) => part.text).join('; '),
    met: parts.every((part) => part.met),
  };
}

/**
 * `@QueueLimited` (`release: 'response'`) against `@nestjs/throttler` with Redis storage and
 * against the bare route, judged on Express; Fastify's figures are given beside them. Exported
 * for the section's own entry.
 */
export function httpTargets(http: BenchResults['http']): Target[] {
  const judged: Platform = 'express';
  const rate = (platform: Platform, route: Route) =>
    num(httpMedian(http, platform, route, (run) => run.requestsPerSecond));
  const added = (platform: Platform) =>
    `p50 ${signed(httpAddedMs(http, platform, 'gated', 'p50Ms'))} ms, ` +
    `p99 ${signed(httpAddedMs(http, platform, 'gated', 'p99Ms'))} ms per request`;
  const against = (route: Route, goal: number, name: string, goalText: string): Target => {
    const ratio = httpRatio(http, judged, 'gated', route);
    const fastify = httpRatio(http, 'fastify', 'gated', route);
    return {
      name,
      goal: goalText,
      measured:
        `Express: ${times(ratio)} (${rate(judged, 'gated')} vs ${rate(judged, route)} req/s)` +
        (route === 'plain' ? `, ${added(judged)}` : '') +
        `; Fastify: ${times(fastify)} (${rate('fastify', 'gated')} vs ` +
        `${rate('fastify', route)} req/s)` +
        (route === 'plain' ? `, ${added('fastify')}` : ''),
      met: Number.isFinite(ratio) && ratio >= goal,
    };
  };
  return [
    against(
      'throttled',
      1.1,
      'HTTP, decorated vs @nestjs/throttler',
      "`@QueueLimited` (release: 'response') req/s ≥ 1.1× a `@nestjs/throttler` route " +
        '(Redis storage) on Express',
    ),
    against(
      'plain',
      0.85,
      'HTTP, decorated vs plain route',
      "`@QueueLimited` (release: 'response') req/s ≥ 0.85× the plain route on Express",
    ),
  ];
}

function signed(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value < 0 ? '−' : '+'}${num(Math.abs(value), 2)}`;
}

/** One target per gate size: tokens included, as `MEMORY USAGE` weighs both keys. */
function memoryPerSlot({ memory }: BenchResults): Target[] {
  return [BENCH.memory.small, BENCH.memory.large].map((holders) => {
    const m = memory.find((result) => result.holders === holders);
    return {
      name: `Memory per held slot, ${num(holders)} holders`,
      goal: `≤ 150 bytes per slot, tokens included (MEMORY USAGE of both keys), at ${num(holders)} holders`,
      measured: m
        ? `${num(m.keyBytesPerSlot, 1)} B (${m.encoding}; used_memory growth ` +
          `${num(m.usedMemoryBytesPerSlot, 1)} B)`
        : 'not measured',
      met: !!m && m.keyBytesPerSlot <= 150,
    };
  });
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
