import { join } from 'node:path';
import { type ForkedWorker, startForkedWorker } from '../support/forked-worker';
import type { ScaleOutJob, ScaleOutReport, ScaleOutSchedule } from './protocol';

/** The parent's handle on one application process, connected and ready for its schedule. */
export type ScaleOutProcess = ForkedWorker<ScaleOutSchedule, ScaleOutReport>;

/** Forks the compiled worker-main.js beside this file and gives it `job`. */
export function startScaleOutProcess(job: ScaleOutJob): Promise<ScaleOutProcess> {
  return startForkedWorker(join(__dirname, 'worker-main.js'), job, {
    label: 'a scale-out process',
    lingerMs: 10_000,
  });
}
