import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH } from '../config';
import { progress } from '../support/progress';
import { delta, snapshot } from '../support/server-stats';
import { sharedNow } from '../waiting/clock';
import { WAITING_CONTENDERS } from '../waiting/contenders';
import type { WaitingReport, WaitingSchedule } from '../waiting/protocol';
import { summarizeWaiting, type WaitingResult } from '../waiting/summary';
import { startWorker } from '../waiting/worker-process';

export type { WaitingResult } from '../waiting/summary';

/**
 * Section 6: 256 waiters on a limit of 64, in two worker processes (two application instances,
 * each with its own connections), every waiter a closed loop of wait, hold 20–50 ms, release.
 * The contenders run one after the other on gates of their own. A closed loop on a full gate
 * admits at the rate slots come free (Little's law), so what is compared is how long a wait
 * lasts, in what order waiters get in, and what the waiting costs Redis.
 */
export async function measureWaiting(url: string, statsClient: Redis): Promise<WaitingResult[]> {
  const { processes, waitersPerProcess, limit } = BENCH.waiting;
  const results: WaitingResult[] = [];
  for (const contender of Object.keys(WAITING_CONTENDERS)) {
    progress(
      `waiting: ${contender}, ${processes} processes × ${waitersPerProcess} waiters on a limit ` +
        `of ${limit}`,
    );
    results.push(await measureOne(url, statsClient, contender));
  }
  return results;
}

async function measureOne(
  url: string,
  statsClient: Redis,
  contender: string,
): Promise<WaitingResult> {
  const { processes, waitersPerProcess, warmUpMs, runMs } = BENCH.waiting;
  const job = {
    redisUrl: url,
    contender,
    gate: `waiting-${contender}`,
    waiters: waitersPerProcess,
  };
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(job)));
  try {
    // Far enough ahead that every process has its schedule before the start.
    const startsAt = sharedNow() + 200;
    const schedule: WaitingSchedule = {
      startsAt,
      measureFrom: startsAt + warmUpMs,
      endsAt: startsAt + warmUpMs + runMs,
    };
    const reports: Promise<WaitingReport[]> = Promise.all(workers.map((w) => w.run(schedule)));
    // Awaited below; until then a worker's early failure must not count as unhandled.
    reports.catch(() => undefined);
    const redisCpuUsec = await serverCpuUsec(statsClient, schedule);
    return summarizeWaiting(contender, await reports, schedule, redisCpuUsec);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/** Redis CPU over the measured window: the counters are read as it opens and as it closes. */
async function serverCpuUsec(statsClient: Redis, schedule: WaitingSchedule): Promise<number> {
  await sleep(Math.max(0, schedule.measureFrom - sharedNow()));
  const before = await snapshot(statsClient);
  await sleep(Math.max(0, schedule.endsAt - sharedNow()));
  return delta(before, await snapshot(statsClient)).cpuUsec;
}
