import { BENCH } from '../config';
import { CONTENDERS } from '../contenders/all';
import { renderDurability } from '../durability/report';
import { queueGateKind } from '../contenders/queue-gate.contender';
import { type HttpRun, type Platform, PLATFORMS, type Route, ROUTES } from '../sections/http';
import { SCENARIOS } from '../sections/scenarios';
import { renderScaleOut } from '../scale-out/report';
import { renderWaiting } from '../waiting/report';
import { num, table, times } from './markdown';
import type { BenchResults } from './results';
import {
  callsPerPairMedian,
  httpAddedMs,
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
    renderScaleOut(results.scaleOut),
    renderTargets(evaluateTargets(results)),
  ].join('\n\n');
}

function header({ machine, load, wallSeconds }: BenchResults): string {
  return [
    '# nestjs-queue-gate benchmark',
    table(
      [
        'Command',
        'Cores',
        'CPU',
        'Node',
        'Redis',
        'Rounds',
        'Wall time',
        'Load average (1 min): start, mean, max',
      ],
      [
        [
          '`npm run bench`',
          String(machine.cores),
          machine.cpuModel,
          machine.node,
          machine.redis,
          `${BENCH.rounds} × ${BENCH.runMs} ms per contender and load`,
          `${num(wallSeconds)} s`,
          `${num(load.atStart, 2)}, ${num(load.mean, 2)}, ${num(load.max, 2)}`,
        ],
      ],
    ),
    'Every figure is the median over rounds; every ratio is the median of ratios taken within ' +
      'one round, where the contenders ran back to back in a rotated order.',
    'The load average counts the benchmark’s own processes too: Redis and the client, and in ' +
      'sections 3, 6 and 8 the app or the workers, so a few runnable at a time.' +
      (load.mean > 2 * machine.cores
        ? ` **Disturbed run:** its mean, ${num(load.mean, 2)}, was over twice the ` +
          `${machine.cores} cores: other work shared the machine, so absolute figures are low ` +
          'and even the within-round ratios move more than on a quiet machine.'
        : ''),
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
  throttled: '`GET /throttled` (`@nestjs/throttler`, Redis storage)',
  noop: '`GET /noop` (a guard and an interceptor that do nothing)',
};

const PLATFORM_LABELS: Record<Platform, string> = { express: 'Express', fastify: 'Fastify' };

function http({ http: runs }: BenchResults): string {
  return renderHttp(runs);
}

/** Section 3, exported for the section's own entry. */
export function renderHttp(runs: readonly HttpRun[]): string {
  const { connections, seconds, rounds } = BENCH.http;
  return [
    '## 3. HTTP',
    `autocannon, ${connections} connections, ${seconds} s per run, ${rounds} round${rounds === 1 ? '' : 's'} per ` +
      'platform, the routes in a rotated order; the app in its own process, on Express and ' +
      'then on Fastify, the gate and the throttler on the benchmark’s Redis. The handler returns ' +
      'a constant, so the figures are the cost of everything around it. Latency is taken per ' +
      'answer from autocannon’s own timing; “added” is the route’s p50 or p99 minus the plain ' +
      'route’s in the same round (median over rounds). The throttled route’s limit is ' +
      `${num(BENCH.http.throttleLimit)} per ${num(BENCH.http.throttleTtlMs / 1000)} s: it never ` +
      'refuses.',
    ...PLATFORMS.filter((platform) => runs.some((run) => run.platform === platform)).flatMap(
      (platform) => [`### ${PLATFORM_LABELS[platform]}`, httpTable(runs, platform)],
    ),
  ].join('\n\n');
}

function httpTable(runs: readonly HttpRun[], platform: Platform): string {
  const m = (route: Route, metric: (run: HttpRun) => number) =>
    httpMedian(runs, platform, route, metric);
  const rows = ROUTES.map((route) => {
    const mine = runs.filter((run) => run.platform === platform && run.route === route);
    const isPlain = route === 'plain';
    return [
      ROUTE_LABELS[route],
      num(m(route, (run) => run.requestsPerSecond)),
      isPlain ? '—' : times(httpRatio(runs, platform, route)),
      route === 'gated' ? times(httpRatio(runs, platform, 'gated', 'throttled')) : '—',
      num(
        m(route, (run) => run.p50Ms),
        2,
      ),
      isPlain ? '—' : signedMs(httpAddedMs(runs, platform, route, 'p50Ms')),
      num(
        m(route, (run) => run.p99Ms),
        2,
      ),
      isPlain ? '—' : signedMs(httpAddedMs(runs, platform, route, 'p99Ms')),
      num(mine.reduce((sum, run) => sum + run.non2xx, 0)),
      num(mine.reduce((sum, run) => sum + run.errors, 0)),
    ];
  });
  return table(
    [
      'Route',
      'Req/s',
      'This ÷ plain',
      'This ÷ throttled',
      'p50 (ms)',
      'p50 added (ms)',
      'p99 (ms)',
      'p99 added (ms)',
      'Non-2xx (all rounds)',
      'Errors (all rounds)',
    ],
    rows,
  );
}

/** Milliseconds with their sign: `+0.42`, `−0.10`. */
function signedMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value < 0 ? '−' : '+'}${num(Math.abs(value), 2)}`;
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
