import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueGate, RedisGateStore } from '../../src';
import { AdmissionWatch } from './admission-watch';
import { check, emptyHttpCounts, type TortureReport } from './checker';
import {
  GATE_LIMITS,
  GATE_PREFIX,
  LIMITS,
  MAX_LEASE_MS,
  RELEASE_RETRY_WINDOW_MS,
  type RunSettings,
  TENANT_SHARES,
  WORK_LIST,
} from './config';
import { inject, planFault } from './faults';
import { Child } from './fleet';
import { LedgerWriter, readLedgers, type LedgerRecord } from './ledger';
import { emptyWaitCounts, LoadGenerator, type WaitCounts } from './load';
import { streamOf } from './prng';
import { RedisProcess } from './redis-process';
import { WorkerPool } from './workers';

/** What a torture run is asked to do. */
export interface TortureOptions {
  /** How long load and faults run, in ms. */
  loadMs: number;
  /** PRNG seed of the fault schedule and the load. */
  seed: number;
  /** Negative control: the API apps use a gate that checks and adds in two steps. */
  broken?: boolean;
  /**
   * Drain the tasks and wait for every gate to be empty. Default true; the negative control
   * turns it off, since only the strict rule is under test there.
   */
  checkLeaks?: boolean;
  /** Concurrent clients of the load generator. Default 10. */
  clients?: number;
  /** Ledgers are kept when the run fails; `always` keeps them anyway, `never` never does. */
  keepLedgers?: 'on-failure' | 'always' | 'never';
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface TortureResult {
  report: TortureReport;
  records: LedgerRecord[];
  seed: number;
  /** Where the ledgers and the children's logs are (see `keepLedgers`). */
  ledgerDir: string;
  /** Time from the end of the load until no task was left, and until every gate was empty. */
  drainMs: number | undefined;
  emptyAfterMs: number | undefined;
  durationMs: number;
  /** What the clients saw of the routes that wait for their slot. */
  waits: WaitCounts;
  /**
   * Admissions Redis announced as handed from a queue to a waiter (as the parent heard them),
   * and how many of them the ledgers saw admitted by a handler.
   */
  handed: { announced: number; seen: number };
}

/** No admission at all for this long while load runs fails the liveness rule. */
export const MAX_ADMISSION_GAP_MS = MAX_LEASE_MS;

/** Longest wait for the workers to finish the tasks left when the load stops. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * One torture run: a private Redis, two API apps, two workers, the load generator (part of it on
 * routes that wait for their slot) and the fault injector for `loadMs`, while the parent hears
 * which admissions Redis hands from a queue; then the drain, the leak check, and the checker over
 * every ledger. Every process it starts is stopped before it returns, also when it fails.
 */
export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const ledgerDir = mkdtempSync(join(tmpdir(), 'qgate-torture-ledger-'));
  const redis = await RedisProcess.start();
  const apps: Child[] = [];
  let workers: WorkerPool | undefined;
  // An exit mid-run (Ctrl-C) cannot wait: SIGKILL our own pids at once. Children also leave by
  // themselves when their IPC channel to us closes.
  const onExit = () => {
    apps.forEach((app) => app.killNow());
    workers?.killNow();
    redis.killNow();
  };
  process.once('exit', onExit);
  const control = new Redis(redis.url, { maxRetriesPerRequest: null });
  control.on('error', () => undefined); // reconnects after each restart
  const settings: RunSettings = {
    redisUrl: redis.url,
    ledgerDir,
    seed: options.seed,
    broken: options.broken ?? false,
  };
  const ledger = new LedgerWriter(ledgerDir, 'parent');
  const counts = emptyHttpCounts();
  const waits = emptyWaitCounts();
  let watch: AdmissionWatch | undefined;
  let load: LoadGenerator | undefined;
  let passed = false;
  try {
    log(`redis-server on port ${redis.port} (AOF, appendfsync always); ledgers in ${ledgerDir}`);
    const [api0, api1, pool] = await Promise.allSettled([
      Child.start('api-app', 'api-0', settings),
      Child.start('api-app', 'api-1', settings),
      WorkerPool.start(2, settings),
    ]);
    // Keep whatever started, so that a failed start still stops the others in `finally`.
    for (const app of [api0, api1]) if (app.status === 'fulfilled') apps.push(app.value);
    if (pool.status === 'fulfilled') workers = pool.value;
    for (const start of [api0, api1, pool]) if (start.status === 'rejected') throw start.reason;
    const workerPool = (pool as PromiseFulfilledResult<WorkerPool>).value;
    log(`API apps on ports ${apps.map((app) => app.port).join(', ')}; 2 workers up`);
    watch = await AdmissionWatch.start(redis.url);

    load = new LoadGenerator(
      apps.map((app) => `http://127.0.0.1:${app.port}`),
      options.seed,
      options.clients ?? 10,
      counts,
      waits,
    );
    const loadFrom = Date.now();
    load.start();
    const rng = streamOf(options.seed, 'faults');
    const faultsUntil = loadFrom + options.loadMs;
    let faults = 0;
    for (;;) {
      const { waitMs, fault } = planFault(rng, workerPool.size);
      if (Date.now() + waitMs >= faultsUntil) break;
      await sleep(waitMs);
      if (await inject(fault, { redis, control, workers: workerPool, ledger })) faults++;
    }
    await sleep(Math.max(0, faultsUntil - Date.now()));
    const loadTo = Date.now();
    log(`${faults} faults injected; stopping the load`);
    // Leave Redis and the workers whole: a pause still running ends, crashed workers are back.
    await control.call('CLIENT', 'UNPAUSE');
    await workerPool.settle();
    await load.stop();

    let drainMs: number | undefined;
    let leak: Awaited<ReturnType<typeof leakCheck>> = {
      leftover: undefined,
      queuedLeft: undefined,
      emptyAfterMs: undefined,
    };
    if (options.checkLeaks ?? true) {
      const drainFrom = Date.now();
      await drain(control, workerPool);
      drainMs = Date.now() - drainFrom;
      log(`tasks drained in ${drainMs} ms; waiting for every gate to be empty`);
      leak = await leakCheck(control);
    }

    // Every process is gone before the ledgers are read. Without the leak check nothing after
    // the load is under test: SIGKILL, like a crash, which every ledger survives.
    if (options.checkLeaks ?? true) {
      await Promise.all(apps.map((app) => app.stop()));
      await workerPool.stop();
    } else {
      await Promise.all(apps.map((app) => app.kill()));
      await workerPool.kill();
    }
    const records = readLedgers(ledgerDir);
    const report = check(records, {
      limits: LIMITS,
      tenantShares: TENANT_SHARES,
      http: counts,
      load: { from: loadFrom, to: loadTo },
      leftover: leak.leftover,
      queuedLeft: leak.queuedLeft,
      maxAdmissionGapMs: MAX_ADMISSION_GAP_MS,
    });
    const heard = watch;
    const seen = records.filter(
      (record) => record.kind === 'admit' && heard.has(record.model, record.taskId, record.token),
    ).length;
    passed = report.failures.length === 0;
    return {
      report,
      records,
      seed: options.seed,
      ledgerDir,
      drainMs,
      emptyAfterMs: leak.emptyAfterMs,
      durationMs: Date.now() - started,
      waits,
      handed: { announced: heard.size, seen },
    };
  } finally {
    await load?.stop();
    watch?.stop();
    await Promise.all(apps.map((app) => app.kill()));
    await workers?.kill();
    control.disconnect();
    await redis.destroy();
    process.off('exit', onExit);
    const keep = options.keepLedgers ?? 'on-failure';
    if (keep === 'never' || (keep === 'on-failure' && passed)) {
      rmSync(ledgerDir, { recursive: true, force: true });
    }
  }
}

/** Waits until the work list is empty and no worker runs a task (twice in a row). */
async function drain(control: Redis, workers: WorkerPool): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    await sleep(250);
    const [queued, running] = await Promise.all([control.llen(WORK_LIST), workers.running()]);
    quiet = queued === 0 && running === 0 ? quiet + 1 : 0;
  }
}

/**
 * Reads every gate's usage through the library until no unit is held and nobody is queued, or
 * one lease plus the release retry window has passed; what is still held or queued then has
 * leaked.
 */
async function leakCheck(control: Redis): Promise<{
  leftover: Record<string, number> | undefined;
  queuedLeft: Record<string, number> | undefined;
  emptyAfterMs: number | undefined;
}> {
  const gate = new QueueGate(new RedisGateStore(control, GATE_PREFIX), { limits: GATE_LIMITS });
  const from = Date.now();
  const deadline = from + MAX_LEASE_MS + RELEASE_RETRY_WINDOW_MS;
  try {
    for (;;) {
      const leftover: Record<string, number> = {};
      const queuedLeft: Record<string, number> = {};
      for (const model of Object.keys(LIMITS)) {
        const { used, waiting } = await gate.usage(model);
        leftover[model] = used;
        queuedLeft[model] = waiting;
      }
      const left = [...Object.values(leftover), ...Object.values(queuedLeft)];
      if (left.every((count) => count === 0)) {
        return { leftover, queuedLeft, emptyAfterMs: Date.now() - from };
      }
      if (Date.now() > deadline) return { leftover, queuedLeft, emptyAfterMs: undefined };
      await sleep(250);
    }
  } finally {
    await gate.close(0);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
