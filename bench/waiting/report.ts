import { BENCH } from '../config';
import { num, percent, table } from '../report/markdown';
import type { WaitingResult } from './summary';

/**
 * Section 6 of the report, apart from render.ts so that the waiting section's own entry prints
 * it without the rest. Each contender ran once: a run is long, its figures over thousands of waits.
 */
export function renderWaiting(results: readonly WaitingResult[]): string {
  const { processes, waitersPerProcess, limit, holdMs, runMs, warmUpMs, epsilonMs } = BENCH.waiting;
  const waits = results.map((r) => [
    r.contender,
    num(r.waits),
    num(r.admissionsPerSecond),
    percent(r.slotUse),
    num(r.waitP50Ms, 1),
    num(r.waitP99Ms, 1),
    num(r.waitMaxMs, 1),
    num(r.waitStddevMs, 1),
    num(r.timedOut),
  ]);
  const order = results.map((r) => [
    r.contender,
    r.outOfOrderInRedis === null ? 'n/a' : num(r.outOfOrderInRedis),
    num(r.outOfOrder),
  ]);
  const costs = results.map((r) => [
    r.contender,
    num(r.commandsPerAdmission, 2),
    [...r.commandsByName].map(([command, calls]) => `${command} ${num(calls, 2)}`).join(', '),
    num(r.redisCpuUsecPerAdmission, 1),
  ]);
  return [
    `## 6. Waiting for a slot: ${num(processes * waitersPerProcess)} waiters on a limit of ${limit}`,
    `${processes} processes × ${waitersPerProcess} closed-loop waiters, each with its own ` +
      `connections: wait for a slot, hold it ${holdMs[0]}–${holdMs[1]} ms, release, wait ` +
      `again. One run per contender, ${num(runMs / 1000)} s measured after ${num(warmUpMs / 1000)} ` +
      's of warm-up. A wait runs from the call to the admission, on one clock for both ' +
      'processes; a wait that ran out counts in full. Slot use: the share of the limit’s ' +
      'slot-time that tasks held.',
    table(
      [
        'Contender',
        'Waits',
        'Admissions/s',
        'Slot use',
        'Wait p50 (ms)',
        'Wait p99 (ms)',
        'Wait max (ms)',
        'Wait stddev (ms)',
        'Timed out',
      ],
      waits,
    ),
    'Out of order: pairs of waits, in either process, where one arrived before the other and ' +
      'was admitted after it. As Redis saw it: arrival when the acquire script ran (the ' +
      'script’s clock, whole ms; the same ms is not ordered), admission by fencing token ' +
      '(strictly increasing per gate); redis-semaphore tells neither. By the callers’ clocks: ' +
      'arrival when acquire was called, admission when the caller learnt of it, arrivals less ' +
      `than ${epsilonMs} ms apart not ordered. Where Redis and both processes share few cores, ` +
      'a command can wait some ms before Redis reads it, and a process busy elsewhere learns ' +
      'of its admission late, so the callers’ clocks count pairs that Redis did in order.',
    table(
      ['Contender', 'Out of order as Redis saw it', 'Out of order by the callers’ clocks'],
      order,
    ),
    'Commands are counted in the clients (every command of both processes in the window: ' +
      'acquires, retries, releases, subscriptions, keep-alives); Redis CPU is `INFO cpu` over ' +
      'the same window. Both per admission in the window.',
    table(
      ['Contender', 'Commands per admission', 'By command', 'Redis CPU µs per admission'],
      costs,
    ),
  ].join('\n\n');
}
