import { BENCH } from '../config';
import { num, table, times } from '../report/markdown';
import {
  DURABILITY_LOADS,
  type DurabilityResult,
  type DurabilityRun,
} from '../sections/durability';
import type { Scenario } from '../sections/scenarios';
import { median } from '../support/stats';
import { withDurabilityKind, withoutDurabilityKind } from './contenders';

type Metric = (run: DurabilityRun) => number;

const without = withoutDurabilityKind.name;
const withIt = withDurabilityKind.name;

/**
 * Section 7 of the report, apart from render.ts so that the section's own entry prints it
 * without the rest. There is no target: the cost is reported as measured.
 */
export function renderDurability(result: DurabilityResult): string {
  const { rounds, runMs, replicas, timeoutMs } = BENCH.durability;
  const rows = DURABILITY_LOADS.flatMap((load) =>
    [without, withIt].map((contender) => [
      load.label,
      contender,
      num(durabilityMedian(result.runs, load, contender, (run) => run.pairsPerSecond)),
      contender === without
        ? '—'
        : times(withOverWithout(result.runs, load, (r) => r.pairsPerSecond)),
      num(durabilityMedian(result.runs, load, contender, (run) => run.p50Us)),
      contender === without ? '—' : times(withOverWithout(result.runs, load, (r) => r.p50Us)),
      num(durabilityMedian(result.runs, load, contender, (run) => run.p99Us)),
      num(
        durabilityMedian(result.runs, load, contender, (run) => run.waitsPerPair),
        2,
      ),
      num(
        durabilityMedian(result.runs, load, contender, (run) => run.primaryCpuUsecPerPair),
        1,
      ),
    ]),
  );
  return [
    `## 7. Durable admissions: \`durability: { replicas: ${replicas} }\``,
    'QueueGate (fenced release) with and without `durability: { replicas: ' +
      `${replicas}, timeoutMs: ${timeoutMs} }\`, which pipelines \`WAIT ${replicas} ` +
      `${timeoutMs}\` behind every admitting acquire on the same connection. A private ` +
      'primary and one replica of it on this machine (the link was up ' +
      `${num(result.replicaLinkMs)} ms after the replica started), started for this section ` +
      'alone; each contender on its own connection and gate, a limit nobody reaches. ' +
      `${rounds} rounds of ${num(runMs)} ms per contender and load, the two back to back in a ` +
      'rotated order; figures are medians over rounds, ratios the median of ratios within a ' +
      `round. The section took ${num(result.wallSeconds, 1)} s.`,
    table(
      [
        'Load',
        'Contender',
        'Pairs/s',
        'With ÷ without (pairs/s)',
        'Acquire p50 (µs)',
        'With ÷ without (p50)',
        'Acquire p99 (µs)',
        'WAIT per pair',
        'Primary CPU µs/pair',
      ],
      rows,
    ),
    costSentence(result.runs),
  ].join('\n\n');
}

/** The measured cost in words, every load in one sentence. */
function costSentence(runs: readonly DurabilityRun[]): string {
  const list = (metric: Metric) =>
    DURABILITY_LOADS.map(
      (load) => `${times(withOverWithout(runs, load, metric))} at ${load.label}`,
    ).join(' and ');
  return (
    `**Measured cost:** pairs/s with ÷ without durability is ${list((r) => r.pairsPerSecond)}; ` +
    `acquire p50 with ÷ without is ${list((r) => r.p50Us)}.`
  );
}

/** Median over rounds of a metric of one contender at one load. */
export function durabilityMedian(
  runs: readonly DurabilityRun[],
  load: Scenario,
  contender: string,
  metric: Metric,
): number {
  return median(runs.filter((run) => run.load === load && run.contender === contender).map(metric));
}

/** Median over rounds of `metric(with) / metric(without)`, each ratio within one round. */
export function withOverWithout(
  runs: readonly DurabilityRun[],
  load: Scenario,
  metric: Metric,
): number {
  const of = (contender: string, round: number) =>
    runs.find((run) => run.load === load && run.contender === contender && run.round === round);
  const rounds = [...new Set(runs.map((run) => run.round))];
  return median(
    rounds.flatMap((round) => {
      const [a, b] = [of(withIt, round), of(without, round)];
      return a && b ? [metric(a) / metric(b)] : [];
    }),
  );
}
