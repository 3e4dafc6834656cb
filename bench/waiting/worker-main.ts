import 'reflect-metadata';
import { connect, disconnect } from '../support/redis-client';
import { sharedNow } from './clock';
import { countCommands } from './command-counter';
import { WAITING_CONTENDERS } from './contenders';
import type { ParentMessage, WaitingJob, WaitingSchedule, WorkerMessage } from './protocol';
import { runWaiters } from './waiter-loop';

/**
 * Entry of one worker process of the waiting section. Waiters of two processes compete as two
 * application instances would, each with its own connections and event loop; the parent only
 * coordinates and reads the server's counters.
 */
async function main(job: WaitingJob): Promise<void> {
  let schedule: WaitingSchedule | undefined;
  const commands = countCommands(() => {
    const now = sharedNow();
    return !!schedule && now >= schedule.measureFrom && now < schedule.endsAt;
  });
  const client = await connect(job.redisUrl);
  const gate = WAITING_CONTENDERS[job.contender](client, job.gate);
  try {
    const go = nextSchedule();
    await send({ ready: true });
    schedule = await go;
    const report = await runWaiters(gate, job.waiters, schedule);
    await send({ done: { ...report, commands: Object.fromEntries(commands) } });
  } finally {
    await gate.close();
    await disconnect(client);
  }
}

function nextSchedule(): Promise<WaitingSchedule> {
  return new Promise((resolve) => {
    const listener = (message: ParentMessage) => {
      if (!('go' in message)) return;
      process.off('message', listener);
      resolve(message.go);
    };
    process.on('message', listener);
  });
}

/** Resolves once the message is handed to the IPC channel, so exiting next cannot lose it. */
function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('not forked with an IPC channel'));
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

process.once('message', (message: ParentMessage) => {
  if (!('job' in message)) return;
  main(message.job)
    .then(() => process.exit(0))
    .catch(async (error: unknown) => {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      await send({ failed: text }).catch(() => undefined);
      process.exit(1);
    });
});
