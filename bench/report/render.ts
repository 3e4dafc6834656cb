import { BENCH } from '../config';
import { CONTENDERS } from '../contenders/all';
import { renderDurability } from '../durability/report';
import { queueGateKind } from '../contenders/queue-gate.contender';
import { type Route, ROUTES } from '../sections/http';
import { SCENARIOS } from '../sections/scenarios';
import { renderWaiting } from '../waiting/report';
import { num, table, times } from './markdown';
import type { BenchResults } from './results';
import {
  callsPerPairMedian,
  httpMedian,
  httpRatio,
  scaleMedian,
  throughputMedian,
  throughputRatio,
} from './summary';
import { evaluateTargets, type Target } from './targets';

/** The whole report, in markdown. */
export function renderReport(results: BenchResults): string {
  return [
    header(results),
    pairs(results),
    serverTime(results),
    http(results),
    memory(results),
    scale(results),
    renderWaiting(results.waiting),
    renderDurability(results.durability),
    renderTargets(evaluateTargets(results)),
  ].join('\n\n');
}

function header({ machine, wallSeconds }: BenchResults): string {
  return [
    '# nestjs-queue-gate benchmark',
    table(
      ['Command', 'Cores', 'CPU', 'Node', 'Redis', 'Rounds', 'Wall time'],
      [
        [
          '`npm run bench`',
          String(machine.cores),
          machine.cpuModel,
          machine.node,
          machine.redis,
          `${BENCH.rounds} × ${BENCH.runMs} ms per contender and load`,
          `${num(wallSeconds)} s`,
        ],
      ],
    ),
    'Every figure is the median over rounds; every ratio is the median of ratios taken within ' +
      'one round, where the contenders ran back to back in a rotated order.',
  ].join('\n\n');
}

function pairs({ throughput }: BenchResults): string {
  const rows = SCENARIOS.flatMap((scenario) =>
    CONTENDERS.map(({ name }) => {
      const m = (metric: Parameters<typeof throughputMedian>[3]) =>
        throughputMedian(throughput, scenario, name, metric);
      const ratio = throughputRatio(throughput, scenario, queueGateKind.name, name, (run) => {
        return run.pairsPerSecond;
      });
      return [
        scenario.label,
        name,
        num(m((run) => run.pairsPerSecond)),
        name === queueGateKind.name ? '—' : times(ratio),
        num(m((run) => run.p50Us)),
        num(m((run) => run.p99Us)),
      ];
    }),
  );
  return [
    '## 1. Acquire+release pairs per second',
    table(
      ['Load', 'Contender', 'Pairs/s', 'QueueGate ÷ this', 'Acquire p50 (µs)', 'Acquire p99 (µs)'],
      rows,
    ),
  ].join('\n\n');
}

function serverTime({ throughput }: BenchResults): string {
  const breakdownAt = SCENARIOS[1];
  const rows = CONTENDERS.map(({ name }) => [
    name,
    ...SCENARIOS.map((scenario) =>
      num(
        throughputMedian(throughput, scenario, name, (run) => run.serverUsecPerPair),
        1,
      ),
    ),
    num(
      throughputMedian(throughput, SCENARIOS[2], name, (run) => run.cpuUsecPerPair),
      1,
    ),
    [...callsPerPairMedian(throughput, breakdownAt, name)]
      .map(([command, calls]) => `${command} ${num(calls, 2)}`)
      .join(', '),
  ]);
  return [
    '## 2. Redis server time per admitted pair',
    'From `INFO commandstats`: usec of the commands the client sends (a script’s usec includes ' +
      'the commands it calls), per admitted acquire+release. Redis CPU (from `INFO cpu`) also ' +
      'counts reading and parsing requests, which commandstats leaves out.',
    table(
      [
        'Contender',
        ...SCENARIOS.map((s) => `µs/pair, ${s.label}`),
        `Redis CPU µs/pair, ${SCENARIOS[2].label}`,
        `Commands per pair (${breakdownAt.label})`,
      ],
      rows,
    ),
  ].join('\n\n');
}

const ROUTE_LABELS: Record<Route, string> = {
  plain: '`GET /plain`',
  gated: "`GET /gated` (`@QueueLimited`, release: 'response')",
  noop: '`GET /noop` (a guard and an interceptor that do nothing)',
};

function http({ http: runs }: BenchResults): string {
  const rows = ROUTES.map((route) => {
    const mine = runs.filter((run) => run.route === route);
    return [
      ROUTE_LABELS[route],
      num(httpMedian(runs, route, (run) => run.requestsPerSecond)),
      route === 'plain' ? '—' : times(httpRatio(runs, route)),
      num(
        httpMedian(runs, route, (run) => run.p50Ms),
        1,
      ),
      num(
        httpMedian(runs, route, (run) => run.p99Ms),
        1,
      ),
      num(mine.reduce((sum, run) => sum + run.non2xx, 0)),
      num(mine.reduce((sum, run) => sum + run.errors, 0)),
    ];
  });
  return [
    '## 3. HTTP on Express',
    `autocannon, ${BENCH.http.connections} connections, ${BENCH.http.seconds} s per run, the ` +
      'app in its own process; the handler returns a constant, so the figures are the cost of ' +
      'everything around it.',
    table(
      [
        'Route',
        'Req/s',
        'This ÷ plain',
        'p50 (ms)',
        'p99 (ms)',
        'Non-2xx (all rounds)',
        'Errors (all rounds)',
      ],
      rows,
    ),
  ].join('\n\n');
}

function memory({ memory: results }: BenchResults): string {
  const rows = results.map((m) => [
    num(m.holders),
    m.encoding,
    num(m.keyBytes),
    num(m.keyBytesPerSlot, 1),
    num(m.usedMemoryBytesPerSlot, 1),
  ]);
  return [
    '## 4. Redis memory per held slot',
    'One gate, holder ids are UUIDs (36 characters), as the service makes them.',
    table(
      [
        'Holders',
        'Encoding',
        'MEMORY USAGE (SAMPLES 0), bytes',
        'Bytes per slot',
        'used_memory growth per slot',
      ],
      rows,
    ),
  ].join('\n\n');
}

function scale({ scale: runs }: BenchResults): string {
  const sizes = [BENCH.memory.small, BENCH.memory.large];
  const rows = sizes.map((holders) => [
    num(holders),
    num(scaleMedian(runs, holders, (run) => run.p50Us)),
    num(scaleMedian(runs, holders, (run) => run.p99Us)),
    num(
      scaleMedian(runs, holders, (run) => run.serverUsecPerAcquire),
      1,
    ),
  ]);
  return [
    '## 5. Acquire on a gate already held by many',
    `Sequential \`QueueGate.acquire\` calls, ${BENCH.scale.batch * BENCH.scale.batchesPerRound} ` +
      'per gate per round.',
    table(['Holders', 'p50 (µs)', 'p99 (µs)', 'Redis µs per acquire'], rows),
  ].join('\n\n');
}

/** The targets table. */
export function renderTargets(targets: readonly Target[]): string {
  const rows = targets.map((target) => [
    target.name,
    target.goal,
    target.measured,
    target.met ? '**met**' : '**not met**',
  ]);
  return ['## Targets', table(['Target', 'Goal', 'Measured', 'Verdict'], rows)].join('\n\n');
}
