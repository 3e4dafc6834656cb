import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH } from '../config';
import { sharedNow } from './clock';
import type { WaitingGate } from './contenders';
import type { WaitingReport, WaitingSchedule } from './protocol';

/**
 * `waiters` closed loops on one gate: wait for a slot, hold it a random 20–50 ms (as a task
 * would), release, and come back at once, from `startsAt` until `endsAt`. A wait under way at
 * `endsAt` runs to its end, so every wait that began in the measured window is reported.
 */
export async function runWaiters(
  gate: WaitingGate,
  waiters: number,
  schedule: WaitingSchedule,
): Promise<Omit<WaitingReport, 'commands'>> {
  const report: Omit<WaitingReport, 'commands'> = {
    arrivedAt: [],
    answeredAt: [],
    admitted: [],
    releasedAt: [],
    inRedis: [],
    admissionsInWindow: 0,
  };
  const inWindow = (at: number) => at >= schedule.measureFrom && at < schedule.endsAt;
  const waiter = async () => {
    while (sharedNow() < schedule.endsAt) {
      const arrivedAt = sharedNow();
      const admission = await gate.acquire();
      const answeredAt = sharedNow();
      let releasedAt: number | null = null;
      if (admission) {
        if (inWindow(answeredAt)) report.admissionsInWindow++;
        await sleep(holdMs());
        await admission.release();
        releasedAt = sharedNow();
      }
      if (inWindow(arrivedAt)) {
        report.arrivedAt.push(arrivedAt);
        report.answeredAt.push(answeredAt);
        report.admitted.push(admission !== null);
        report.releasedAt.push(releasedAt);
        report.inRedis.push(admission?.inRedis ?? null);
      }
    }
  };
  await sleep(Math.max(0, schedule.startsAt - sharedNow()));
  await Promise.all(Array.from({ length: waiters }, waiter));
  return report;
}

function holdMs(): number {
  const [min, max] = BENCH.waiting.holdMs;
  return min + Math.random() * (max - min);
}
