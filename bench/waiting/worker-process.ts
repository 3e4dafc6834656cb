import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type {
  ParentMessage,
  WaitingJob,
  WaitingReport,
  WaitingSchedule,
  WorkerMessage,
} from './protocol';

/** The parent's handle on one worker process, connected and ready for its schedule. */
export interface WorkerProcess {
  /** Starts the waiters on `schedule`; resolves with what they saw when they are done. */
  run(schedule: WaitingSchedule): Promise<WaitingReport>;
  /** Waits for the process to exit (it does after its report), killing it if it lingers. */
  stop(): Promise<void>;
}

/** Forks the compiled worker-main.js beside this file and gives it `job`. */
export async function startWorker(job: WaitingJob): Promise<WorkerProcess> {
  const child = fork(join(__dirname, 'worker-main.js'), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = nextMessage(child, (message) => ('ready' in message ? true : undefined));
  post(child, { job });
  await ready;
  return {
    run(schedule) {
      const done = nextMessage(child, (message) => ('done' in message ? message.done : undefined));
      post(child, { go: schedule });
      return done;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's next message that `pick` accepts; rejects on a `failed` message or an exit
 * before it, so that a worker's crash fails the section instead of hanging it.
 */
function nextMessage<T>(
  child: ChildProcess,
  pick: (message: WorkerMessage) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      cleanUp();
      reject(new Error(`a waiting worker exited with code ${code}`));
    };
    const onMessage = (message: WorkerMessage) => {
      if ('failed' in message) {
        cleanUp();
        reject(new Error(`a waiting worker failed: ${message.failed}`));
        return;
      }
      const value = pick(message);
      if (value === undefined) return;
      cleanUp();
      resolve(value);
    };
    const cleanUp = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function post(child: ChildProcess, message: ParentMessage): void {
  child.send(message);
}
