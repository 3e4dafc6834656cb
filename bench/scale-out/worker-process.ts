import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type {
  ScaleOutJob,
  ScaleOutParentMessage,
  ScaleOutReport,
  ScaleOutSchedule,
  ScaleOutWorkerMessage,
} from './protocol';

/** The parent's handle on one application process, connected and ready for its schedule. */
export interface ScaleOutProcess {
  /** Starts its callers on `schedule`; resolves with what they did in the window. */
  run(schedule: ScaleOutSchedule): Promise<ScaleOutReport>;
  /** Waits for the process to exit (it does after its report), killing it if it lingers. */
  stop(): Promise<void>;
}

/** Forks the compiled worker-main.js beside this file and gives it `job`. */
export async function startScaleOutProcess(job: ScaleOutJob): Promise<ScaleOutProcess> {
  const child = fork(join(__dirname, 'worker-main.js'), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = nextMessage(child, (message) => ('ready' in message ? true : undefined));
  post(child, { job });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    run(schedule) {
      const done = nextMessage(child, (message) => ('done' in message ? message.done : undefined));
      post(child, { go: schedule });
      return done;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's next message that `pick` accepts; rejects on a `failed` message or an exit
 * before it, so that a crash fails the section instead of hanging it.
 */
function nextMessage<T>(
  child: ChildProcess,
  pick: (message: ScaleOutWorkerMessage) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      cleanUp();
      reject(new Error(`a scale-out process exited with code ${code}`));
    };
    const onMessage = (message: ScaleOutWorkerMessage) => {
      if ('failed' in message) {
        cleanUp();
        reject(new Error(`a scale-out process failed: ${message.failed}`));
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

function post(child: ChildProcess, message: ScaleOutParentMessage): void {
  child.send(message);
}
