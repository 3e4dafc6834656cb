import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { startSoakChildren, type SoakChild } from '../support/bullmq-soak-fleet';
import type { SoakChildStats, SoakConfig } from '../support/bullmq-soak-protocol';
import { sleep } from '../support/eventually';
import { startRedisServer, type RedisServer } from '../support/redis-server';

/** Length of the load phase; BULLMQ_SOAK_SECONDS overrides the default 30 s. */
const SOAK_MS = Number(process.env.BULLMQ_SOAK_SECONDS ?? 30) * 1_000;
const LIMIT = 6;
const SAMPLE_EVERY_MS = 100;
/** The longest a gate/queue mismatch may last: a job's end and its release landing. */
const MISMATCH_BOUND_MS = 1_000;
const DRAIN_MS = 20_000;
const COUNTED = ['waiting', 'active', 'delayed', 'prioritized'] as const;

interface Sample {
  at: number;
  used: number;
  jobs: number;
}

interface Mismatch {
  start: number;
  end: number;
  largestGap: number;
  samples: number;
}

/**
 * A soak of the BullMQ integration: two "API" processes take slots of one gate and add a job
 * for each with gateJob; two "worker" processes (Nest, @Processor, QueueGateBullModule) run the
 * jobs, which fail at random (retried, final, unrecoverable). The gate's count must track
 * BullMQ's count of the jobs still to run (waiting, active, delayed, prioritized) at every
 * sample, up to short gaps, never pass the limit, and both must end at 0.
 */
describe('nestjs-queue-gate/bullmq under a soak', () => {
  let server: RedisServer;
  let client: Redis;
  let gate: QueueGate;
  let queue: Queue;
  const children: SoakChild[] = [];
  const config = (url: string): SoakConfig => ({
    redisUrl: url,
    gatePrefix: 'soak:gate:',
    bullPrefix: 'soakbull',
    queue: 'soak',
    model: 'soak-model',
    limit: LIMIT,
  });

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await queue?.close();
    await gate?.close(1_000);
    await client?.quit().catch(() => client.disconnect());
    await server?.stop();
  });

  it(
    'keeps the gate equal to the queue, within the limit, and ends both at 0',
    async () => {
      const started = Date.now();
      const cfg = config(server.url);
      client = new Redis(server.url, { maxRetriesPerRequest: 1 });
      gate = new QueueGate(new RedisGateStore(client, cfg.gatePrefix), {
        limits: { [cfg.model]: LIMIT },
        commandTimeoutMs: 10_000,
      });
      queue = new Queue(cfg.queue, {
        connection: { host: '127.0.0.1', port: server.port },
        prefix: cfg.bullPrefix,
      });
      await queue.waitUntilReady();

      // Workers first: their listener must be attached before the first job exists.
      const workers = await startSoakChildren('worker', 2, cfg);
      children.push(...workers);
      const apis = await startSoakChildren('api', 2, cfg);
      children.push(...apis);

      const samples: Sample[] = [];
      const mismatches: Mismatch[] = [];
      let open: Mismatch | undefined;
      let sampling = true;
      const sample = async () => {
        const [usage, counts] = await Promise.all([
          gate.usage(cfg.model),
          queue.getJobCounts(...COUNTED),
        ]);
        const at = Date.now();
        const jobs = COUNTED.reduce((total, state) => total + (counts[state] ?? 0), 0);
        samples.push({ at, used: usage.used, jobs });
        if (usage.used !== jobs) {
          open ??= { start: at, end: at, largestGap: 0, samples: 0 };
          open.end = at;
          open.samples++;
          open.largestGap = Math.max(open.largestGap, Math.abs(usage.used - jobs));
        } else if (open) {
          open.end = at; // it lasted until this matching sample
          mismatches.push(open);
          open = undefined;
        }
      };
      const sampler = (async () => {
        while (sampling) {
          const next = Date.now() + SAMPLE_EVERY_MS;
          await sample();
          await sleep(Math.max(0, next - Date.now()));
        }
      })();

      await sleep(SOAK_MS);
      const apiStats = await Promise.all(apis.map((child) => child.stop()));

      // Let the workers drain: no job left to run, no slot left held.
      const drainUntil = Date.now() + DRAIN_MS;
      let last = samples[samples.length - 1];
      while (Date.now() < drainUntil) {
        last = samples[samples.length - 1];
        if (last && last.jobs === 0 && last.used === 0 && !open) break;
        await sleep(SAMPLE_EVERY_MS);
      }
      sampling = false;
      await sampler;
      if (open) mismatches.push(open);

      const finals = await queue.getJobCounts('completed', 'failed', ...COUNTED);
      const usage = await gate.usage(cfg.model);
      const workerStats = await Promise.all(workers.map((child) => child.stop()));

      const admissions = sum(apiStats, 'admitted');
      const mismatched = mismatches.reduce((total, m) => total + m.samples, 0);
      const largestGap = Math.max(0, ...mismatches.map((m) => m.largestGap));
      const longest = mismatches.reduce(
        (worst, m) => (m.end - m.start > worst.end - worst.start ? m : worst),
        { start: 0, end: 0, largestGap: 0, samples: 0 },
      );
      const longestMs = longest.end - longest.start;
      const maxUsed = Math.max(...samples.map((s) => s.used));
      const maxJobs = Math.max(...samples.map((s) => s.jobs));
      console.log(
        `bullmq soak ${SOAK_MS / 1000}s: samples ${samples.length}, mismatched samples ${mismatched} ` +
          `in ${mismatches.length} intervals, largest gap ${largestGap} units, longest mismatch ` +
          `${longestMs} ms, admissions ${admissions} (refused ${sum(apiStats, 'refused')}, ` +
          `errors ${sum(apiStats, 'errors') + sum(workerStats, 'errors')}), jobs completed ` +
          `${finals.completed} / failed ${finals.failed} (attempts ${sum(workerStats, 'admitted')}: ` +
          `ok ${sum(workerStats, 'succeeded')}, threw ${sum(workerStats, 'threw')}, unrecoverable ` +
          `${sum(workerStats, 'unrecoverable')}), max used ${maxUsed}, max jobs ${maxJobs}, ` +
          `end used ${usage.used}, run ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );

      expect(apiStats.map((s) => s.lastError ?? '')).toEqual(['', '']);
      expect(admissions).toBeGreaterThan(0);
      expect(maxUsed).toBeLessThanOrEqual(LIMIT);
      expect(maxJobs).toBeLessThanOrEqual(LIMIT);
      expect(longestMs).toBeLessThanOrEqual(MISMATCH_BOUND_MS);
      // Every admission became a job that ended, completed or failed for good.
      expect(finals.completed + finals.failed).toBe(admissions);
      expect(COUNTED.map((state) => finals[state])).toEqual([0, 0, 0, 0]);
      expect(usage.used).toBe(0);
    },
    SOAK_MS + 60_000,
  );
});

function sum(stats: SoakChildStats[], field: keyof Omit<SoakChildStats, 'lastError'>): number {
  return stats.reduce((total, s) => total + s[field], 0);
}
