import {
  check,
  emptyHttpCounts,
  faultBefore,
  intervalsOf,
  longestAdmissionGap,
  overlapOf,
  type RunObservations,
  stretchesWithAdmissions,
  tenantOverlapOf,
} from './checker';
import type { AdmitRecord, EndRecord, FaultRecord, LeaseRecord, LedgerRecord } from './ledger';

/*
 * Hand-made ledgers, each small enough to read, each proving one rule of the checker bites. Run
 * by test/integration/torture.spec.ts (the jest projects do not look under test/torture).
 */

let next = 0;
function admit(model: string, at: number, leaseEnd: number, taskId = `t${++next}`): AdmitRecord {
  return {
    kind: 'admit',
    admission: `a${++next}`,
    model,
    taskId,
    token: next,
    at,
    leaseEnd,
    attempt: 0,
  };
}
const end = (of: AdmitRecord, at: number): EndRecord => ({
  ...of,
  kind: 'end',
  at,
  reason: 'test',
});
const lease = (of: AdmitRecord, at: number, leaseEnd: number): LeaseRecord => ({
  ...of,
  kind: 'lease',
  at,
  leaseEnd,
});
const fault = (at: number): FaultRecord => ({
  kind: 'fault',
  at,
  fault: 'pause',
  detail: '1000 ms',
});

function observations(overrides: Partial<RunObservations> = {}): RunObservations {
  return {
    limits: { m: 2 },
    http: { ...emptyHttpCounts(), ok: 3 },
    load: { from: 0, to: 100 },
    leftover: { m: 0 },
    maxAdmissionGapMs: 1_000,
    ...overrides,
  };
}

export function describeChecker(): void {
  describe('torture checker', () => {
    it('passes a ledger that never exceeds the limit', () => {
      const a = admit('m', 0, 50);
      const b = admit('m', 5, 50);
      const c = admit('m', 20, 80); // starts exactly when a stops: no overlap
      const records = [a, b, end(a, 20), c, end(b, 30), end(c, 60)];
      const report = check(records, observations());
      expect(report.failures).toEqual([]);
      expect(report.models.m).toMatchObject({ maxOverlap: 2, ratio: 1, overAdmissions: 0 });
    });

    it('fails when a third task holds while two others still do, and names them and the fault before', () => {
      const a = admit('m', 0, 50);
      const b = admit('m', 5, 50);
      const c = admit('m', 10, 50);
      const records: LedgerRecord[] = [fault(8), a, b, c, end(a, 20), end(b, 20), end(c, 20)];
      const report = check(records, observations());
      expect(report.failures).toEqual([
        expect.stringContaining('strict: m held 3 slots with limit 2'),
      ]);
      expect(report.models.m).toMatchObject({ maxOverlap: 3, ratio: 1.5, overAdmissions: 1 });
      const [violation] = report.models.m.violations;
      expect(violation.at).toBe(10);
      expect(violation.holders.map((h) => h.taskId).sort()).toEqual(
        [a.taskId, b.taskId, c.taskId].sort(),
      );
      expect(violation.faultBefore?.at).toBe(8);
    });

    it('counts an abandoned task until its last known lease end', () => {
      const crashed = admit('m', 0, 10);
      const renewed = lease(crashed, 5, 30); // a keep-alive moved its lease to 30 before the crash
      const b = admit('m', 1, 100);
      const c = admit('m', 25, 100);
      const report = check([crashed, renewed, b, c, end(b, 40), end(c, 40)], observations());
      expect(report.models.m).toMatchObject({ maxOverlap: 3, abandoned: 1 });
      expect(report.failures).toEqual([expect.stringContaining('strict: m')]);
    });

    it('does not count a task past its known lease end, but reports that it ran past it', () => {
      const late = admit('m', 0, 10);
      const b = admit('m', 1, 100);
      const c = admit('m', 12, 100);
      const report = check([late, b, c, end(late, 40), end(b, 40), end(c, 40)], observations());
      expect(report.models.m).toMatchObject({ maxOverlap: 2, ranPastLease: 1 });
      expect(report.failures).toEqual([]);
    });

    it('does not count a holder that found its slot gone before using it as running past it', () => {
      const queued = admit('m', 0, 10);
      const report = check([queued, { ...end(queued, 40), idle: true }], observations());
      expect(report.models.m.ranPastLease).toBe(0);
    });

    it('counts a task id admitted twice at once as one slot, as the gate does', () => {
      const a = admit('m', 0, 50, 'same');
      const again = admit('m', 5, 50, 'same');
      const b = admit('m', 6, 50);
      const report = check([a, again, b, end(a, 20), end(again, 20), end(b, 20)], observations());
      expect(report.models.m.maxOverlap).toBe(2);
      expect(report.failures).toEqual([]);
    });

    it('takes the earliest of several ends of one admission', () => {
      const stream = admit('m', 0, 50);
      const [{ stop }] = intervalsOf([stream, end(stream, 30), end(stream, 12)]).intervals;
      expect(stop).toBe(12);
    });

    it('counts records of admissions nobody admitted as orphans', () => {
      const ghost = admit('m', 0, 50);
      expect(intervalsOf([end(ghost, 3)]).orphans).toBe(1);
    });

    it('fails on slots left held, on 500s, and on a long stretch without admissions', () => {
      const a = admit('m', 0, 50);
      const b = admit('m', 90, 95);
      const report = check(
        [a, end(a, 5), b, end(b, 92)],
        observations({
          leftover: { m: 1 },
          http: { ...emptyHttpCounts(), serverErrors: 2 },
          maxAdmissionGapMs: 50,
        }),
      );
      expect(report.failures).toEqual([
        'no leak: 1 slot(s) still held after the leak window',
        'live: 2 HTTP 5xx other than 503',
        'live: no admission for 90 ms (bound 50 ms)',
      ]);
    });

    it('fails when a tenant holds more than its share while the model stays within its limit', () => {
      const t1a = { ...admit('m', 0, 50), tenant: 't1' };
      const t1b = { ...admit('m', 5, 50), tenant: 't1' };
      const t2 = { ...admit('m', 6, 50), tenant: 't2' };
      const records = [t1a, t1b, t2, end(t1a, 20), end(t1b, 20), end(t2, 20)];
      const shares = { m: 1 };
      const report = check(records, observations({ limits: { m: 3 }, tenantShares: shares }));
      expect(report.models.m).toMatchObject({ maxOverlap: 3, overAdmissions: 0 });
      expect(report.tenants['m/t1']).toMatchObject({ maxOverlap: 2, limit: 1, overAdmissions: 1 });
      expect(report.tenants['m/t2']).toMatchObject({ maxOverlap: 1, overAdmissions: 0 });
      expect(report.failures).toEqual([
        expect.stringContaining('strict: tenant m/t1 held 2 slots with share 1'),
      ]);
      expect(report.tenants['m/t1'].violations[0].holders.map((h) => h.taskId).sort()).toEqual(
        [t1a.taskId, t1b.taskId].sort(),
      );
    });

    it('counts against a share only the admissions that name a tenant, on models that have one', () => {
      const named = { ...admit('m', 0, 50), tenant: 't1' };
      const unnamed = admit('m', 1, 50);
      const otherModel = { ...admit('n', 2, 50), tenant: 't1' };
      const tenants = tenantOverlapOf(intervalsOf([named, unnamed, otherModel]).intervals, {
        m: 1,
      });
      expect(Object.keys(tenants)).toEqual(['m/t1']);
      expect(tenants['m/t1']).toMatchObject({ admissions: 1, maxOverlap: 1 });
    });

    it('fails on places left in a queue', () => {
      const a = admit('m', 0, 50);
      const report = check([a, end(a, 40)], observations({ queuedLeft: { m: 2 } }));
      expect(report.queuedLeft).toBe(2);
      expect(report.failures).toEqual(['no leak: 2 place(s) still queued after the leak window']);
    });

    it('fails a run that admitted nothing', () => {
      expect(check([], observations()).failures).toContain('live: nothing was admitted');
    });

    it('measures the longest gap including both ends of the load', () => {
      expect(longestAdmissionGap([10, 20, 70], 0, 100)).toEqual({ gapMs: 50, startsAt: 20 });
      expect(longestAdmissionGap([], 0, 100)).toEqual({ gapMs: 100, startsAt: 0 });
    });

    it('counts the stretches between faults that saw an admission', () => {
      expect(stretchesWithAdmissions([30, 60], [10, 40, 45], 0, 100)).toEqual({
        stretches: 3,
        withAdmissions: 2,
      });
    });

    it('keeps models apart and finds the last fault before an instant', () => {
      const a = admit('m', 0, 50);
      const other = admit('n', 1, 50);
      const overlap = overlapOf(intervalsOf([a, other]).intervals, { m: 1, n: 1 });
      expect(overlap.m.maxOverlap).toBe(1);
      expect(overlap.n.maxOverlap).toBe(1);
      expect(faultBefore([fault(1), fault(5), fault(9)], 6)?.at).toBe(5);
      expect(faultBefore([fault(7)], 6)).toBeUndefined();
    });
  });
}
