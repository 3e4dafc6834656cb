import { availableParallelism } from 'node:os';
import { BENCH } from '../config';
import { num, percent, table } from '../report/markdown';
import type { ScaleOutPoint, ScaleOutResult } from '../sections/scale-out';

/**
 * Section 8 of the report, apart from render.ts so that the section's own entry prints it
 * without the rest. No target: what one Redis core admits, and how a Cluster shares the load.
 */
export function renderScaleOut(result: ScaleOutResult): string {
  const { callersPerProcess, gates, shards, warmUpMs, runMs } = BENCH.scaleOut;
  const rows = result.points.map((point) => [
    point.deployment,
    num(point.processes),
    num(point.admissionsPerSecond),
    num(point.cpuUsecPerAdmission, 1),
    num(oneCoreAdmits(point)),
    num(point.redisCores, 2),
    point.deployment === 'Cluster' ? shares(point, (node) => node.cpuUsec) : '—',
    point.deployment === 'Cluster' ? shares(point, (node) => node.scriptCalls) : '—',
    num(point.refused),
  ]);
  return [
    '## 8. Scale-out: application processes, one Redis and a Cluster',
    `Each application process is a child process with one connection and one \`QueueGate\` ` +
      `(\`RedisGateStore\`), running ${callersPerProcess} closed-loop callers of acquire and ` +
      `fenced release; each caller goes round ${gates} gates nobody fills. First against the ` +
      `benchmark's one Redis, then against a private ${shards}-shard Cluster (${shards} ` +
      'primaries, no replicas, started in ' +
      `${num(result.clusterStartMs)} ms) through an ioredis Cluster client, the gates spread ` +
      `over the shards by their hash tags. One run per point, ${num(runMs / 1000)} s measured ` +
      `after ${num(warmUpMs / 1000)} s of warm-up. Redis CPU is \`INFO cpu\` (user + system) of ` +
      'every node over the window; an admission is one acquire and its release. The section ' +
      `took ${num(result.wallSeconds, 1)} s.`,
    table(
      [
        'Redis',
        'Processes',
        'Admissions/s',
        'Redis CPU µs per admission',
        'One Redis core admits (/s)',
        'Redis CPU used (cores)',
        'CPU share per shard',
        'Scripts share per shard',
        'Refused',
      ],
      rows,
    ),
    summary(result.points),
  ].join('\n\n');
}

/** Admissions one fully busy Redis core makes per second: 1 s over the CPU of one admission. */
export function oneCoreAdmits(point: ScaleOutPoint): number {
  return 1e6 / point.cpuUsecPerAdmission;
}

function shares(point: ScaleOutPoint, metric: (node: ScaleOutPoint['nodes'][number]) => number) {
  const total = point.nodes.reduce((sum, node) => sum + metric(node), 0);
  return point.nodes.map((node) => percent(metric(node) / total)).join(' / ');
}

/** The section's findings in words, from the points measured. */
function summary(points: readonly ScaleOutPoint[]): string {
  const of = (deployment: ScaleOutPoint['deployment']) =>
    points.filter((point) => point.deployment === deployment);
  const one = of('one Redis');
  const cluster = of('Cluster');
  if (one.length === 0) return '';
  // The busiest one-Redis point: the CPU per admission nearest to a saturated server's.
  const busiest = one.reduce((a, b) => (b.redisCores > a.redisCores ? b : a));
  const best = one.reduce((a, b) => (b.admissionsPerSecond > a.admissionsPerSecond ? b : a));
  const sentences = [
    `**One Redis core admits about ${num(oneCoreAdmits(busiest))} per second**: 1 s ÷ ` +
      `${num(busiest.cpuUsecPerAdmission, 1)} µs of Redis CPU per admission at ` +
      `${busiest.processes} process${busiest.processes === 1 ? '' : 'es'}, where Redis was ` +
      `busiest (${num(busiest.redisCores, 2)} of a core). The most measured on one Redis was ` +
      `${num(best.admissionsPerSecond)}/s, at ${best.processes} process` +
      `${best.processes === 1 ? '' : 'es'}.`,
  ];
  if (cluster.length > 0) {
    const widest = cluster[cluster.length - 1];
    const sameOnOne = one.find((point) => point.processes === widest.processes);
    sentences.push(
      `On the Cluster at ${widest.processes} processes: ` +
        `${num(widest.admissionsPerSecond)}/s` +
        (sameOnOne ? ` (one Redis: ${num(sameOnOne.admissionsPerSecond)}/s)` : '') +
        `, each shard taking ${shares(widest, (node) => node.scriptCalls)} of the scripts and ` +
        `${shares(widest, (node) => node.cpuUsec)} of the CPU, ` +
        `${num(widest.cpuUsecPerAdmission, 1)} µs of Redis CPU per admission in all.`,
    );
  }
  const cores = availableParallelism();
  sentences.push(
    `This machine has ${cores} cores, shared by Redis (or the Cluster's ${BENCH.scaleOut.shards} ` +
      'nodes), every application process and the benchmark itself: past ' +
      `${cores - 1} process${cores - 1 === 1 ? '' : 'es'} the processes compete with Redis and ` +
      'with each other for the same cores, so admissions/s shows the machine’s ceiling, not ' +
      'Redis’s; what a Redis core admits is the CPU per admission’s figure.',
  );
  return sentences.join(' ');
}
