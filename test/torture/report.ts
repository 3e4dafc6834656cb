import { intervalsOf, type ModelOverlap, type TortureReport } from './checker';
import type { LedgerRecord } from './ledger';
import type { TortureResult } from './run';

/** Figures beyond the checker's rules: how much work the run did, from the ledgers. */
export interface RunFigures {
  admissionsByModel: Record<string, number>;
  /** Admissions a handler saw on the routes that wait for their slot. */
  waitingRouteAdmissions: number;
  retriesAdmitted: number;
  endsByReason: Record<string, number>;
  leaseReads: number;
}

export function figuresOf(records: readonly LedgerRecord[]): RunFigures {
  const figures: RunFigures = {
    admissionsByModel: {},
    waitingRouteAdmissions: 0,
    retriesAdmitted: 0,
    endsByReason: {},
    leaseReads: 0,
  };
  for (const record of records) {
    if (record.kind === 'admit') {
      figures.admissionsByModel[record.model] = (figures.admissionsByModel[record.model] ?? 0) + 1;
      if (record.attempt > 0) figures.retriesAdmitted++;
      if (record.route === 'waiting') figures.waitingRouteAdmissions++;
    } else if (record.kind === 'end') {
      figures.endsByReason[record.reason] = (figures.endsByReason[record.reason] ?? 0) + 1;
    } else if (record.kind === 'lease') {
      figures.leaseReads++;
    }
  }
  return figures;
}

/** The run's report as plain text, with each violation's holders as the ledgers saw them. */
export function formatResult(result: TortureResult, mode: string): string {
  const { report, waits, handed } = result;
  const figures = figuresOf(result.records);
  const lines = [
    `torture run: seed ${result.seed}, ${mode}, ${(result.durationMs / 1000).toFixed(1)} s in all`,
    `operations: ${report.admissions} admissions (${entries(figures.admissionsByModel)}), ` +
      `${figures.retriesAdmitted} retries admitted, ${figures.leaseReads} lease reads`,
    `ends: ${entries(figures.endsByReason)}`,
    `http: ${entries({ ...report.http })}`,
    `waiting: ${waits.requests} requests on waiting routes; ${handed.seen} waited admissions ` +
      `(handed from a queue, of ${figures.waitingRouteAdmissions} admissions on waiting routes; ` +
      `Redis announced ${handed.announced} handed), ${waits.timeouts} wait timeouts ` +
      `(429 with Queue-Position), ${waits.refusedWithoutPlace} refused without a place, ` +
      `${waits.tenantRefusals} refused by a tenant share, ${waits.aborted} left by the client`,
    `faults: ${entries(report.faults)} (${sum(Object.values(report.faults))} in all)`,
    'per model: max overlap ÷ limit, over-admissions, ran past lease end, abandoned',
    ...Object.entries(report.models).map(([model, m]) => overlapLine(model, m)),
    'per tenant share: max overlap ÷ share, over-admissions, ran past lease end, abandoned',
    ...Object.entries(report.tenants)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, m]) => overlapLine(key, m)),
    report.leftover === undefined
      ? 'leak: not checked'
      : `leak: ${report.leaked} slot(s) held at the end (${entries(report.leftover)}), ` +
        `${report.queuedLeft ?? 0} place(s) queued; drain ${result.drainMs} ms, gates empty ` +
        (result.emptyAfterMs === undefined ? 'never' : `${result.emptyAfterMs} ms after it`),
    `live: longest stretch without an admission ${report.admissionGap.gapMs} ms; ` +
      `${report.betweenFaults.withAdmissions} of ${report.betweenFaults.stretches} stretches ` +
      `between faults saw admissions; ${report.orphans} orphan record(s)`,
    ...violationLines(report, result.records),
    report.failures.length === 0 ? 'PASSED' : `FAILED:\n  ${report.failures.join('\n  ')}`,
  ];
  return lines.join('\n');
}

function overlapLine(key: string, m: ModelOverlap): string {
  return (
    `  ${key.padEnd(8)} ${m.maxOverlap}/${m.limit} = ${m.ratio.toFixed(2)}  ` +
    `over ${m.overAdmissions}  past-lease ${m.ranPastLease}  abandoned ${m.abandoned}  ` +
    `(${m.admissions} admissions)`
  );
}

function violationLines(report: TortureReport, records: readonly LedgerRecord[]): string[] {
  const { intervals } = intervalsOf(records);
  const lines: string[] = [];
  for (const overlap of [...Object.values(report.models), ...Object.values(report.tenants)]) {
    for (const violation of overlap.violations) {
      const fault = violation.faultBefore;
      lines.push(
        `violation on ${violation.model} at ${iso(violation.at)} (limit ${violation.limit}); ` +
          `fault before: ${fault ? `${fault.fault} ${fault.detail} at ${iso(fault.at)}` : 'none'}`,
      );
      for (const holder of violation.holders) {
        const held = intervals.find((interval) => interval.admission === holder.admission);
        lines.push(
          `  task ${holder.taskId} token ${holder.token} admission ${holder.admission}: ` +
            (held
              ? `admitted ${iso(held.start)}, end ${held.end ? iso(held.end) : 'none'}, ` +
                `lease end ${iso(held.leaseEnd)}`
              : 'no interval'),
        );
      }
    }
  }
  return lines;
}

function entries(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}
