import { BENCH } from '../config';
import { num, percent, table } from '../report/markdown';
import type { WaitingResult } from './summary';

/**
 * Section 6 of the report, apart from render.ts so that the waiting section's own entry prints
 * it without the rest. Each contender ran once: a run is long, its figures over thousands of waits.
 */
export function renderWaiting(results: readonly WaitingResult[]): string {
  const { processes, waitersPerProcess, limit, holdMs, runMs, warmUpMs, epsilonsMs } =
    BENCH.waiting;
  const pairs = (counts: readonly number[] | null) =>
    counts === null ? 'n/a' : counts.map((count) => num(count)).join(' / ');
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
  const order = results.map((r) => [r.contender, pairs(r.outOfOrder), pairs(r.outOfOrderInStore)]);
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
    'Out of order: pairs of waits, in either process, where one arrived more than ' +
      `${epsilonsMs.join(' / ')} ms before the other and was admitted after it. Arrival is ` +
      'stamped in the client as acquire is called; admission either as the waiter learns of ' +
      'it, or in the order the store admitted (QueueGate’s fencing tokens, strictly increasing ' +
      'per gate). Where Redis and both processes share few cores, a command can reach Redis ' +
      'some ms after its stamp, so pairs that arrived close together may be out of order by ' +
      'the clock rather than by the gate.',
    table(
      [
        'Contender',
        `Out of order as waiters learnt (pairs, > ${epsilonsMs.join(' / ')} ms)`,
        `Out of order in the store’s order (pairs, > ${epsilonsMs.join(' / ')} ms)`,
      ],
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
