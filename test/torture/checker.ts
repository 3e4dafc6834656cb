import type { AdmitRecord, FaultKind, FaultRecord, LedgerRecord } from './ledger';

/*
 * The checker: pure functions from ledgers and counts to a verdict. Nothing here touches a
 * process, a clock or Redis, so hand-made ledgers can prove that each rule fails when it should.
 */

/** One admission as the ledgers saw it: [start, stop] lies inside its real holding interval. */
export interface Interval {
  admission: string;
  model: string;
  taskId: string;
  token: number | null;
  start: number;
  /** min(end, lease end), or the lease end when the holder never said it ended. */
  stop: number;
  /** Earliest end any process recorded; undefined when abandoned (crash, lost task). */
  end: number | undefined;
  /** True when that earliest end says the holder never used the slot. */
  idle: boolean;
  /** Latest lease end known for it (admit or a later read of the gate). */
  leaseEnd: number;
  /** The tenant it counts for, when the ledger names one. */
  tenant: string | undefined;
  /** True when it was admitted on a route that waits for its slot. */
  waiting: boolean;
}

export interface Intervals {
  intervals: Interval[];
  /** Lease or end records of admissions nobody recorded admitting. */
  orphans: number;
}

/** Folds the records of every process into one interval per admission. */
export function intervalsOf(records: readonly LedgerRecord[]): Intervals {
  const admits = new Map<string, AdmitRecord>();
  for (const record of records) if (record.kind === 'admit') admits.set(record.admission, record);
  const leaseEnds = new Map<string, number>();
  const ends = new Map<string, { at: number; idle: boolean }>();
  let orphans = 0;
  for (const record of records) {
    if (record.kind !== 'lease' && record.kind !== 'end') continue;
    if (!admits.has(record.admission)) {
      orphans++;
      continue;
    }
    if (record.kind === 'lease') {
      leaseEnds.set(
        record.admission,
        Math.max(leaseEnds.get(record.admission) ?? 0, record.leaseEnd),
      );
    } else {
      // Several processes may end one admission (a worker ends a task whose request failed).
      const earliest = ends.get(record.admission);
      if (!earliest || record.at < earliest.at) {
        ends.set(record.admission, { at: record.at, idle: record.idle === true });
      }
    }
  }
  const intervals = [...admits.values()].map((admit): Interval => {
    const leaseEnd = Math.max(admit.leaseEnd, leaseEnds.get(admit.admission) ?? 0);
    const ended = ends.get(admit.admission);
    const end = ended?.at;
    return {
      admission: admit.admission,
      model: admit.model,
      taskId: admit.taskId,
      token: admit.token,
      start: admit.at,
      stop: Math.min(end ?? Infinity, leaseEnd),
      end,
      idle: ended?.idle ?? false,
      leaseEnd,
      tenant: admit.tenant,
      waiting: admit.route === 'waiting',
    };
  });
  return { intervals, orphans };
}

/** An instant at which a model had more distinct holders than its limit. */
export interface Violation {
  model: string;
  at: number;
  limit: number;
  holders: { taskId: string; token: number | null; admission: string }[];
  /** The last fault injected at or before `at`. */
  faultBefore: FaultRecord | undefined;
}

export interface ModelOverlap {
  limit: number;
  admissions: number;
  /** Most distinct task ids holding at one instant. */
  maxOverlap: number;
  /** maxOverlap ÷ limit: above 1 means the gate over-admitted. */
  ratio: number;
  /** Admissions that took a model above its limit. */
  overAdmissions: number;
  /** Admissions used after their last known lease end (ran without a slot). */
  ranPastLease: number;
  /** Admissions never ended: counted until their lease end. */
  abandoned: number;
  /** The first few violations, for the report. */
  violations: Violation[];
}

const KEPT_VIOLATIONS = 5;

/**
 * Per model, sweeps the intervals in time order and counts distinct task ids holding at each
 * instant: a duplicate admission of one task id is one slot, as in the gate. An interval that
 * stops at the instant another starts does not overlap it.
 */
export function overlapOf(
  intervals: readonly Interval[],
  limits: Readonly<Record<string, number>>,
  faults: readonly FaultRecord[] = [],
): Record<string, ModelOverlap> {
  const result: Record<string, ModelOverlap> = {};
  for (const [model, limit] of Object.entries(limits)) {
    const mine = intervals.filter((interval) => interval.model === model);
    const overlap: ModelOverlap = {
      limit,
      admissions: mine.length,
      maxOverlap: 0,
      ratio: 0,
      overAdmissions: 0,
      ranPastLease: mine.filter((i) => i.end !== undefined && i.end > i.leaseEnd && !i.idle).length,
      abandoned: mine.filter((i) => i.end === undefined).length,
      violations: [],
    };
    // Stops sort before starts at the same instant.
    const events = mine
      .filter((interval) => interval.stop > interval.start)
      .flatMap((interval) => [
        { at: interval.start, delta: 1, interval },
        { at: interval.stop, delta: -1, interval },
      ])
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    const active = new Map<string, Interval[]>();
    for (const { at, delta, interval } of events) {
      const same = active.get(interval.taskId) ?? [];
      if (delta < 0) {
        same.splice(same.indexOf(interval), 1);
        if (same.length === 0) active.delete(interval.taskId);
        continue;
      }
      same.push(interval);
      active.set(interval.taskId, same);
      if (same.length > 1) continue; // a task id that already held: still one slot
      overlap.maxOverlap = Math.max(overlap.maxOverlap, active.size);
      if (active.size <= limit) continue;
      overlap.overAdmissions++;
      if (overlap.violations.length < KEPT_VIOLATIONS) {
        overlap.violations.push({
          model,
          at,
          limit,
          holders: [...active.values()].map(([held]) => ({
            taskId: held.taskId,
            token: held.token,
            admission: held.admission,
          })),
          faultBefore: faultBefore(faults, at),
        });
      }
    }
    overlap.ratio = limit > 0 ? overlap.maxOverlap / limit : 0;
    result[model] = overlap;
  }
  return result;
}

/**
 * The strict rule for tenant shares: per model with a share, and per tenant, the intervals of
 * that tenant's admissions never overlap more than the share. Keyed `<model>/<tenant>`. Only the
 * admissions the ledgers name a tenant for count: a retry the workers re-acquire names none
 * (the gate counts it against the model only, or, when it renews a slot still held, against
 * that slot's tenant), so this can only see fewer of a tenant's holders, never more.
 */
export function tenantOverlapOf(
  intervals: readonly Interval[],
  shares: Readonly<Record<string, number>>,
  faults: readonly FaultRecord[] = [],
): Record<string, ModelOverlap> {
  const limits: Record<string, number> = {};
  const keyed: Interval[] = [];
  for (const interval of intervals) {
    const share = shares[interval.model];
    if (share === undefined || interval.tenant === undefined) continue;
    const key = `${interval.model}/${interval.tenant}`;
    limits[key] = share;
    keyed.push({ ...interval, model: key });
  }
  return overlapOf(keyed, limits, faults);
}

/** The last fault at or before `at`. */
export function faultBefore(faults: readonly FaultRecord[], at: number): FaultRecord | undefined {
  let last: FaultRecord | undefined;
  for (const fault of faults) if (fault.at <= at && (!last || fault.at >= last.at)) last = fault;
  return last;
}

/** Longest stretch of [from, to] with no admission at all, in ms. */
export function longestAdmissionGap(
  admits: readonly number[],
  from: number,
  to: number,
): { gapMs: number; startsAt: number } {
  const times = admits.filter((at) => at >= from && at <= to).sort((a, b) => a - b);
  let gap = { gapMs: 0, startsAt: from };
  let previous = from;
  for (const at of [...times, to]) {
    if (at - previous > gap.gapMs) gap = { gapMs: at - previous, startsAt: previous };
    previous = at;
  }
  return gap;
}

/**
 * How many of the stretches between consecutive faults (and before the first, after the last)
 * saw at least one admission: the gate keeps admitting between faults, not only after the run.
 */
export function stretchesWithAdmissions(
  faults: readonly number[],
  admits: readonly number[],
  from: number,
  to: number,
): { stretches: number; withAdmissions: number } {
  const edges = [from, ...faults.filter((at) => at > from && at < to).sort((a, b) => a - b), to];
  let withAdmissions = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    if (admits.some((at) => at >= edges[i] && at < edges[i + 1])) withAdmissions++;
  }
  return { stretches: edges.length - 1, withAdmissions };
}

/** What the load generator saw. */
export interface HttpCounts {
  ok: number;
  tooMany: number;
  unavailable: number;
  serverErrors: number;
  /** Any other status (499 and the like). */
  other: number;
  /** Requests the client aborted or streams it left on purpose. */
  aborted: number;
  /** Requests that failed without a status (connection reset). */
  networkErrors: number;
}

export function emptyHttpCounts(): HttpCounts {
  return {
    ok: 0,
    tooMany: 0,
    unavailable: 0,
    serverErrors: 0,
    other: 0,
    aborted: 0,
    networkErrors: 0,
  };
}

/** Everything the run measured besides the ledgers. */
export interface RunObservations {
  limits: Readonly<Record<string, number>>;
  http: HttpCounts;
  /** When load ran, in ms since the epoch. */
  load: { from: number; to: number };
  /** Live holders per gate when the leak window closed; undefined when not checked. */
  leftover: Readonly<Record<string, number>> | undefined;
  /** Places still queued per gate when the leak window closed; undefined when not checked. */
  queuedLeft?: Readonly<Record<string, number>> | undefined;
  /** Tenant shares (`perTenant`) of the models that have one. */
  tenantShares?: Readonly<Record<string, number>>;
  /** Longest stretch without an admission that still counts as live, in ms. */
  maxAdmissionGapMs: number;
}

export interface TortureReport {
  models: Record<string, ModelOverlap>;
  /** Per `<model>/<tenant>`, against the tenant's share. */
  tenants: Record<string, ModelOverlap>;
  orphans: number;
  admissions: number;
  faults: Record<FaultKind, number>;
  http: HttpCounts;
  /** Slots still held after the leak window; undefined when not checked. */
  leaked: number | undefined;
  leftover: Readonly<Record<string, number>> | undefined;
  /** Places still queued after the leak window; undefined when not checked. */
  queuedLeft: number | undefined;
  admissionGap: { gapMs: number; startsAt: number };
  betweenFaults: { stretches: number; withAdmissions: number };
  /** Each rule that failed, in words; empty when the run passed. */
  failures: string[];
}

/**
 * Applies the three rules (strict, per model and per tenant share; no leak, of slots and of
 * places in the queues; live) to a run.
 */
export function check(records: readonly LedgerRecord[], run: RunObservations): TortureReport {
  const faults = records.filter((record): record is FaultRecord => record.kind === 'fault');
  const { intervals, orphans } = intervalsOf(records);
  const models = overlapOf(intervals, run.limits, faults);
  const tenants = tenantOverlapOf(intervals, run.tenantShares ?? {}, faults);
  const faultCounts = { pause: 0, 'client-kill': 0, 'script-flush': 0, 'redis-restart': 0 };
  const counts: Record<FaultKind, number> = { ...faultCounts, 'worker-kill': 0 };
  for (const fault of faults) counts[fault.fault]++;
  const leaked = run.leftover && Object.values(run.leftover).reduce((sum, used) => sum + used, 0);
  const queuedLeft =
    run.queuedLeft && Object.values(run.queuedLeft).reduce((sum, queued) => sum + queued, 0);
  const admissionGap = longestAdmissionGap(
    intervals.map((interval) => interval.start),
    run.load.from,
    run.load.to,
  );

  const betweenFaults = stretchesWithAdmissions(
    faults.map((fault) => fault.at),
    intervals.map((interval) => interval.start),
    run.load.from,
    run.load.to,
  );

  const failures: string[] = [];
  for (const [model, overlap] of Object.entries(models)) {
    if (overlap.maxOverlap > overlap.limit) {
      failures.push(
        `strict: ${model} held ${overlap.maxOverlap} slots with limit ${overlap.limit} ` +
          `(${overlap.overAdmissions} over-admission(s))`,
      );
    }
  }
  for (const [key, overlap] of Object.entries(tenants)) {
    if (overlap.maxOverlap > overlap.limit) {
      failures.push(
        `strict: tenant ${key} held ${overlap.maxOverlap} slots with share ${overlap.limit} ` +
          `(${overlap.overAdmissions} over-admission(s))`,
      );
    }
  }
  if (leaked) failures.push(`no leak: ${leaked} slot(s) still held after the leak window`);
  if (queuedLeft) {
    failures.push(`no leak: ${queuedLeft} place(s) still queued after the leak window`);
  }
  if (run.http.serverErrors > 0)
    failures.push(`live: ${run.http.serverErrors} HTTP 5xx other than 503`);
  if (intervals.length === 0) failures.push('live: nothing was admitted');
  if (admissionGap.gapMs > run.maxAdmissionGapMs) {
    failures.push(
      `live: no admission for ${admissionGap.gapMs} ms (bound ${run.maxAdmissionGapMs} ms)`,
    );
  }
  return {
    models,
    tenants,
    orphans,
    admissions: intervals.length,
    faults: counts,
    http: run.http,
    leaked,
    leftover: run.leftover,
    queuedLeft,
    admissionGap,
    betweenFaults,
    failures,
  };
}
