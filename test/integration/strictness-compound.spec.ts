import type { Redis } from 'ioredis';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { startCompoundFleet, type CompoundFleet } from '../support/compound-fleet';
import { ledgerPeaks, type LedgerPeaks } from '../support/compound-ledger';
import type {
  CompoundGateKind,
  CompoundJob,
  CompoundResult,
  LedgerEntry,
} from '../support/compound-protocol';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

const CHILDREN = 3;
const WORKERS = 8;
const LIMIT = 6;
const PER_TENANT = 2;
const TENANTS = ['t0', 't1', 't2', 't3'];

/** What all the children did, with the peaks of their combined ledger. */
interface RunSummary {
  peaks: LedgerPeaks;
  admitted: number;
  admittedWaiting: number;
  refusedByModel: number;
  refusedByTenant: number;
  aborted: number;
  errors: number;
  lastError?: string;
}

function summarise(results: CompoundResult[]): RunSummary {
  const sum = (pick: (result: CompoundResult) => number) =>
    results.reduce((total, result) => total + pick(result), 0);
  const entries = results.flatMap((result) => result.entries);
  return {
    peaks: ledgerPeaks(entries),
    admitted: entries.length,
    admittedWaiting: sum((r) => r.admittedWaiting),
    refusedByModel: sum((r) => r.refusedByModel),
    refusedByTenant: sum((r) => r.refusedByTenant),
    aborted: sum((r) => r.aborted),
    errors: sum((r) => r.errors),
    lastError: results.find((r) => r.lastError)?.lastError,
  };
}

/**
 * Tenant shares and weighted tasks under concurrency: several processes, each with many
 * workers, take random tasks (a tenant or none, cost 1–3, waiting or not, some aborted) through
 * one gate of limit 6 with a share of 2 per tenant. Each admission is noted in a ledger with an
 * interval that Redis numbered inside the span it was held; sweeping the ledger gives the most
 * units, and the most units of any tenant, ever held at once. The same sweep, run against a gate
 * that passes the store every task as cost 1, or without its tenant's share, must catch it.
 */
describe('strictness across processes with tenants and weights', () => {
  // A private server: the load must not slow down other test files' Redis.
  let server: RedisServer;
  let client: Redis;
  let fleet: CompoundFleet;

  beforeAll(async () => {
    server = await startRedisServer();
    client = newRedis(server.url);
    fleet = await startCompoundFleet(CHILDREN);
  }, 20_000);

  afterAll(async () => {
    await fleet?.stop();
    if (client) await closeClient(client);
    await server?.stop();
  });

  function job(gate: CompoundGateKind, durationMs: number, waitShare: number): CompoundJob {
    return {
      gate,
      redisUrl: server.url,
      prefix: uniquePrefix(`compound-${gate}`),
      model: 'gpu-model',
      limit: LIMIT,
      perTenant: PER_TENANT,
      tenants: TENANTS,
      workers: WORKERS,
      durationMs,
      holdMs: 6,
      waitShare,
    };
  }

  async function runJob(gate: CompoundGateKind, durationMs: number, waitShare: number) {
    const run = job(gate, durationMs, waitShare);
    const summary = summarise(await fleet.run(run));
    const { peaks, ...counts } = summary;
    process.stdout.write(
      `strictness-compound (${gate}, ${waitShare * 100}% waiting): peak units=${peaks.units} holders=${peaks.holders} ` +
        `tenants=${JSON.stringify(peaks.tenants)} ${JSON.stringify(counts)}\n`,
    );
    return { run, summary };
  }

  it('the ledger sweep finds the peaks of overlapping intervals, and only of overlapping ones', () => {
    const entry = (cost: number, tenant: string | null, start: number, end: number) =>
      ({ cost, tenant, start, end }) satisfies LedgerEntry;
    expect(
      ledgerPeaks([
        entry(2, 'a', 1, 4),
        entry(3, null, 2, 6),
        entry(1, 'a', 3, 5),
        entry(3, 'a', 7, 8),
      ]),
    ).toEqual({ units: 6, holders: 3, tenants: { a: 3 } });
    // Back to back is not at once.
    expect(ledgerPeaks([entry(3, 'b', 1, 2), entry(3, 'b', 3, 4)])).toEqual({
      units: 3,
      holders: 1,
      tenants: { b: 3 },
    });
    expect(() => ledgerPeaks([entry(1, null, 5, 5)])).toThrow(/ends/);
  });

  // Waiters are served first and a newcomer never overtakes one, so with many waiting the
  // calls that answer at once are mostly refused by the model: a run without waiting is where
  // tenants' shares refuse calls.
  it.each([
    ['half of the calls waiting', 0.5],
    ['every call waiting', 1],
    ['no call waiting', 0],
  ])(
    `never holds more than ${LIMIT} units, nor more than ${PER_TENANT} of one tenant, %s (${CHILDREN} processes × ${WORKERS} workers, 3 s)`,
    async (_, waitShare) => {
      const { run, summary } = await runJob('strict', 3_000, waitShare);
      const { peaks } = summary;

      expect(summary.lastError).toBeUndefined();
      expect(summary.errors).toBe(0);
      // The load reached every limit, or the bounds below would say nothing.
      expect(summary.admitted).toBeGreaterThan(100);
      if (waitShare > 0) expect(summary.admittedWaiting).toBeGreaterThan(0);
      if (waitShare < 1) expect(summary.refusedByModel).toBeGreaterThan(0);
      if (waitShare === 0) expect(summary.refusedByTenant).toBeGreaterThan(0);
      expect(peaks.holders).toBeGreaterThan(2);
      expect(peaks.units).toBeGreaterThanOrEqual(LIMIT - 1);
      expect(Math.max(...Object.values(peaks.tenants))).toBe(PER_TENANT);

      expect(peaks.units).toBeLessThanOrEqual(LIMIT);
      const overShare = Object.entries(peaks.tenants).filter(([, peak]) => peak > PER_TENANT);
      expect(overShare).toEqual([]);

      // Every unit came back and nobody is left in the queue.
      const gate = new QueueGate(new RedisGateStore(client, run.prefix), {
        limits: { [run.model]: { limit: LIMIT, perTenant: PER_TENANT } },
      });
      try {
        expect(await gate.usage(run.model)).toMatchObject({ used: 0, holders: 0, waiting: 0 });
        for (const tenant of TENANTS) {
          expect(await gate.usage(run.model, { tenant })).toMatchObject({ tenantUsed: 0 });
        }
      } finally {
        await gate.close(0);
      }
      await dropKeys(client, run.prefix);
    },
    20_000,
  );

  it.each<[CompoundGateKind, string]>([
    ['ignores-cost', 'units'],
    ['ignores-share', 'a tenant’s units'],
  ])(
    'catches a gate that %s (over-admits %s)',
    async (kind) => {
      const { run, summary } = await runJob(kind, 1_500, 0.5);
      const { peaks } = summary;
      const tenantPeak = Math.max(...Object.values(peaks.tenants));
      expect(summary.errors).toBe(0);
      if (kind === 'ignores-cost') {
        expect(peaks.units).toBeGreaterThan(LIMIT);
      } else {
        // The model's limit still holds: only the tenant check can catch this one.
        expect(peaks.units).toBeLessThanOrEqual(LIMIT);
        expect(tenantPeak).toBeGreaterThan(PER_TENANT);
      }
      await dropKeys(client, run.prefix);
    },
    20_000,
  );
});
