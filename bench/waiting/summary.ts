import { BENCH } from '../config';
import { percentileOfSorted } from '../support/stats';
import { countOutOfOrder } from './out-of-order';
import type { WaitingReport, WaitingSchedule } from './protocol';

/** One contender's run in the waiting section, every process added up. */
export interface WaitingResult {
  contender: string;
  /** Waits that began in the measured window. */
  waits: number;
  /** Of them, those that ran out before a slot came. */
  timedOut: number;
  /** Admissions in the window per second, all processes. */
  admissionsPerSecond: number;
  /**
   * Share of the limit's slot-time that tasks held, from admission to completed release: what
   * is missing is slot-time free in Redis while a waiter had yet to learn of it or take it.
   */
  slotUse: number;
  /** Time to admission of the window's waits, in ms; a wait that ran out counts in full. */
  waitP50Ms: number;
  waitP99Ms: number;
  waitMaxMs: number;
  waitStddevMs: number;
  /**
   * Pairs admitted in the reverse of their arrival order (see `countOutOfOrder`) by the
   * callers' stamps: arrival when acquire was called, admission when the caller learnt of it.
   */
  outOfOrder: number;
  /**
   * The same as Redis saw it, where the gate tells: arrival when the acquire script ran (store
   * clock, whole ms; arrivals in the same ms are not ordered), admission by fencing token.
   * Null where the gate does not tell.
   */
  outOfOrderInRedis: number | null;
  /** Commands the processes sent in the window per admission in it, and by name. */
  commandsPerAdmission: number;
  commandsByName: Map<string, number>;
  /** Redis process CPU (user + system) over the window per admission in it. */
  redisCpuUsecPerAdmission: number;
}

/** Adds up what each process saw and what the server's CPU counter moved in the window. */
export function summarizeWaiting(
  contender: string,
  reports: readonly WaitingReport[],
  schedule: WaitingSchedule,
  redisCpuUsec: number,
): WaitingResult {
  const windowMs = schedule.endsAt - schedule.measureFrom;
  const waits = reports.flatMap(waitsOf);
  const admitted = waits.filter((wait) => wait.admitted);
  const admissions = Math.max(1, sum(reports.map((report) => report.admissionsInWindow)));
  const commands = new Map<string, number>();
  for (const report of reports) {
    for (const [name, count] of Object.entries(report.commands)) {
      commands.set(name, (commands.get(name) ?? 0) + count);
    }
  }
  const durations = Float64Array.from(waits, (wait) => wait.answeredAt - wait.arrivedAt).sort();
  const meanHoldMs = mean(admitted.map((wait) => wait.releasedAt! - wait.answeredAt));
  return {
    contender,
    waits: waits.length,
    timedOut: waits.length - admitted.length,
    admissionsPerSecond: (admissions * 1000) / windowMs,
    slotUse: (admissions * meanHoldMs) / (windowMs * BENCH.waiting.limit),
    waitP50Ms: percentileOfSorted(durations, 50),
    waitP99Ms: percentileOfSorted(durations, 99),
    waitMaxMs: durations[durations.length - 1],
    waitStddevMs: stddev([...durations]),
    outOfOrder: countOutOfOrder(
      admitted.map((wait) => ({ arrivedAt: wait.arrivedAt, admitted: wait.answeredAt })),
      BENCH.waiting.epsilonMs,
    ),
    outOfOrderInRedis: outOfOrderInRedis(admitted),
    commandsPerAdmission: sum([...commands.values()]) / admissions,
    commandsByName: new Map(
      [...commands].sort(([a], [b]) => a.localeCompare(b)).map(([n, c]) => [n, c / admissions]),
    ),
    redisCpuUsecPerAdmission: redisCpuUsec / admissions,
  };
}

interface Wait {
  arrivedAt: number;
  answeredAt: number;
  admitted: boolean;
  releasedAt: number | null;
  inRedis: { reachedAt: number; order: number } | null;
}

function waitsOf(report: WaitingReport): Wait[] {
  return report.arrivedAt.map((arrivedAt, i) => ({
    arrivedAt,
    answeredAt: report.answeredAt[i],
    admitted: report.admitted[i],
    releasedAt: report.releasedAt[i],
    inRedis: report.inRedis[i],
  }));
}

/** On stamps that Redis made there is no epsilon; ties (the same ms) are left unordered. */
function outOfOrderInRedis(admitted: readonly Wait[]): number | null {
  const inRedis = admitted.map((wait) => wait.inRedis);
  if (inRedis.length === 0 || inRedis.some((stamps) => stamps === null)) return null;
  return countOutOfOrder(
    inRedis.map((stamps) => ({ arrivedAt: stamps!.reachedAt, admitted: stamps!.order })),
    0,
  );
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : sum(values) / values.length;
}

/** Population standard deviation. */
function stddev(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((value) => (value - m) ** 2)));
}
