import type { HttpRun, Platform, Route } from '../sections/http';
import type { Scenario } from '../sections/scenarios';
import type { ScaleRun } from '../sections/scale';
import type { ThroughputRun } from '../sections/throughput';
import { median } from '../support/stats';

/** Median over rounds of a metric of one contender in one scenario. */
export function throughputMedian(
  runs: readonly ThroughputRun[],
  scenario: Scenario,
  contender: string,
  metric: (run: ThroughputRun) => number,
): number {
  return median(
    runs.filter((run) => run.scenario === scenario && run.contender === contender).map(metric),
  );
}

/**
 * Median over rounds of `metric(a) / metric(b)`, each ratio taken within one round: the two
 * ran seconds apart, so drift of the machine between rounds cancels out.
 */
export function throughputRatio(
  runs: readonly ThroughputRun[],
  scenario: Scenario,
  a: string,
  b: string,
  metric: (run: ThroughputRun) => number,
): number {
  const of = (contender: string, round: number) =>
    runs.find(
      (run) => run.scenario === scenario && run.contender === contender && run.round === round,
    );
  return median(
    roundsOf(runs).flatMap((round) => {
      const [x, y] = [of(a, round), of(b, round)];
      return x && y ? [metric(x) / metric(y)] : [];
    }),
  );
}

/** Median over rounds of each command's calls per pair. */
export function callsPerPairMedian(
  runs: readonly ThroughputRun[],
  scenario: Scenario,
  contender: string,
): Map<string, number> {
  const mine = runs.filter((run) => run.scenario === scenario && run.contender === contender);
  const names = new Set(mine.flatMap((run) => [...run.callsPerPair.keys()]));
  return new Map(
    [...names]
      .sort()
      .map((name) => [name, median(mine.map((run) => run.callsPerPair.get(name) ?? 0))]),
  );
}

export function httpMedian(
  runs: readonly HttpRun[],
  platform: Platform,
  route: Route,
  metric: (run: HttpRun) => number,
): number {
  return median(runs.filter((run) => run.platform === platform && run.route === route).map(metric));
}

/**
 * Median over rounds of `metric(route)` compared with `metric(against)` on one platform, each
 * comparison within one round: by default their ratio of req/s.
 */
export function httpRatio(
  runs: readonly HttpRun[],
  platform: Platform,
  route: Route,
  against: Route = 'plain',
  compare: (mine: HttpRun, theirs: HttpRun) => number = (mine, theirs) =>
    mine.requestsPerSecond / theirs.requestsPerSecond,
): number {
  const of = (round: number, name: Route) =>
    runs.find((run) => run.platform === platform && run.round === round && run.route === name);
  return median(
    roundsOf(runs).flatMap((round) => {
      const [mine, theirs] = [of(round, route), of(round, against)];
      return mine && theirs ? [compare(mine, theirs)] : [];
    }),
  );
}

/** Median over rounds of the ms a route adds per request to the plain route's p50 or p99. */
export function httpAddedMs(
  runs: readonly HttpRun[],
  platform: Platform,
  route: Route,
  percentile: 'p50Ms' | 'p99Ms',
): number {
  return httpRatio(runs, platform, route, 'plain', (mine, plain) => {
    return mine[percentile] - plain[percentile];
  });
}

export function scaleMedian(
  runs: readonly ScaleRun[],
  holders: number,
  metric: (run: ScaleRun) => number,
): number {
  return median(runs.filter((run) => run.holders === holders).map(metric));
}

/** Median over rounds of the large gate's cost over the small gate's. */
export function scaleRatio(
  runs: readonly ScaleRun[],
  large: number,
  small: number,
  metric: (run: ScaleRun) => number,
): number {
  return median(
    roundsOf(runs).flatMap((round) => {
      const big = runs.find((run) => run.round === round && run.holders === large);
      const little = runs.find((run) => run.round === round && run.holders === small);
      return big && little ? [metric(big) / metric(little)] : [];
    }),
  );
}

function roundsOf(runs: readonly { round: number }[]): number[] {
  return [...new Set(runs.map((run) => run.round))];
}
