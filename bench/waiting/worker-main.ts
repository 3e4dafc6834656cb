import 'reflect-metadata';
import { connect, disconnect } from '../support/redis-client';
import { sharedNow } from './clock';
import { countCommands } from './command-counter';
import { WAITING_CONTENDERS } from './contenders';
import { serveWorkerJob, type WorkerChannel } from '../support/forked-worker';
import type { WaitingJob, WaitingReport, WaitingSchedule } from './protocol';
import { runWaiters } from './waiter-loop';

/**
 * Entry of one worker process of the waiting section. Waiters of two processes compete as two
 * application instances would, each with its own connections and event loop; the parent only
 * coordinates and reads the server's counters.
 */
async function main(
  job: WaitingJob,
  channel: WorkerChannel<WaitingSchedule, WaitingReport>,
): Promise<void> {
  let schedule: WaitingSchedule | undefined;
  const commands = countCommands(() => {
    const now = sharedNow();
    return !!schedule && now >= schedule.measureFrom && now < schedule.endsAt;
  });
  const client = await connect(job.redisUrl);
  const gate = WAITING_CONTENDERS[job.contender](client, job.gate);
  try {
    schedule = await channel.ready();
    const report = await runWaiters(gate, job.waiters, schedule);
    await channel.done({ ...report, commands: Object.fromEntries(commands) });
  } finally {
    await gate.close();
    await disconnect(client);
  }
}

serveWorkerJob(main);
