import { join } from 'node:path';
import { type ForkedWorker, startForkedWorker } from '../support/forked-worker';
import type { WaitingJob, WaitingReport, WaitingSchedule } from './protocol';

/** The parent's handle on one worker process, connected and ready for its schedule. */
export type WorkerProcess = ForkedWorker<WaitingSchedule, WaitingReport>;

/** Forks the compiled worker-main.js beside this file and gives it `job`. */
export function startWorker(job: WaitingJob): Promise<WorkerProcess> {
  return startForkedWorker(join(__dirname, 'worker-main.js'), job, {
    label: 'a waiting worker',
    lingerMs: 15_000,
  });
}
