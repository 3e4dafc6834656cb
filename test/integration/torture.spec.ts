import { hasRedisServer } from '../support/redis-server';
import { describeChecker } from '../torture/checker-cases';
import { formatResult } from '../torture/report';
import { runTorture, type TortureResult } from '../torture/run';

/*
 * The short torture run inside `npm test`: the same run as `npm run torture`, with a fixed PRNG
 * seed, about 20 s of load and faults against the real gate (waiting routes and tenant shares
 * included), and a shorter negative control that proves the checker catches a gate that checks
 * and adds in two steps. Each run starts its own redis-server on a free port (not the suite's
 * shared one): restarts and CLIENT KILL must not reach other suites.
 */

/** PRNG seed whose schedule injects every kind of fault in its first 8 s (the 5-minute run's). */
const SEED = 2026;

/** The runs need a redis-server of their own to restart; without one they cannot run here. */
const describeRuns = hasRedisServer() ? describe : describe.skip;

/** The report as a failure message, so a failing run says what the ledgers saw. */
function explain(result: TortureResult, mode: string): string {
  return `${formatResult(result, mode)}\nledgers: ${result.ledgerDir}`;
}

describeChecker();

describeRuns('torture run (short; starts its own redis-server)', () => {
  it('never over-admits, leaks no slot and answers no 500 under 20 s of faults', async () => {
    const result = await runTorture({ loadMs: 20_000, seed: SEED });
    const { report } = result;
    // The whole report on failure: which model, which tasks, the fault just before.
    if (report.failures.length > 0) throw new Error(explain(result, 'real gate'));
    for (const model of Object.values(report.models))
      expect(model.maxOverlap).toBeLessThanOrEqual(model.limit);
    expect(report.leaked).toBe(0);
    expect(report.http.serverErrors).toBe(0);
    // The run did torture: every kind of fault, and work admitted on every model around them.
    for (const count of Object.values(report.faults)) expect(count).toBeGreaterThan(0);
    for (const model of Object.values(report.models)) expect(model.admissions).toBeGreaterThan(0);
    // Waiters were in the mix: admissions handed from a queue, waits that ran out, and the
    // tenant shares checked on admissions that named a tenant.
    expect(result.handed.seen).toBeGreaterThan(0);
    expect(result.waits.timeouts).toBeGreaterThan(0);
    expect(report.queuedLeft).toBe(0);
    expect(Object.keys(report.tenants).length).toBeGreaterThan(0);
    for (const share of Object.values(report.tenants))
      expect(share.maxOverlap).toBeLessThanOrEqual(share.limit);
  }, 150_000);

  it('catches a gate that checks the count and adds in two separate steps (negative control)', async () => {
    const result = await runTorture({
      loadMs: 6_000,
      seed: SEED,
      broken: true,
      checkLeaks: false,
      keepLedgers: 'never',
    });
    const { report } = result;
    if (!report.failures.some((failure) => failure.startsWith('strict:'))) {
      throw new Error(
        `the checker missed the broken gate:\n${explain(result, 'negative control')}`,
      );
    }
    const overAdmitted = Object.values(report.models).filter(
      (model) => model.maxOverlap > model.limit,
    );
    expect(overAdmitted.length).toBeGreaterThan(0);
    expect(overAdmitted[0].violations[0].holders.length).toBeGreaterThan(overAdmitted[0].limit);
  }, 100_000);
});
