import { fork, type ChildProcess } from 'node:child_process';
import { CHILD_BOOTSTRAP } from './strictness-register';

/** What a fleet's parent sends its children: a job to run, or the word to exit. */
export type FleetParentMessage<Job> = { type: 'run'; job: Job } | { type: 'stop' };

/** What a child answers: ready once started, then a job's result or its failure. */
export type FleetChildMessage<Result> =
  { type: 'ready' } | { type: 'result'; result: Result } | { type: 'failed'; error: string };

/** Child processes that each run the same job at once, each one application instance. */
export interface ChildFleet<Job, Result> {
  /** Runs the job in every child at once; resolves with each child's result. */
  run(job: Job): Promise<Result[]>;
  /** Asks every child to exit, and kills (by its pid) any that does not within 5 s. */
  stop(): Promise<void>;
}

/**
 * Forks `size` children of the TypeScript file `entry` (run through the tests' TS bootstrap)
 * and waits until each says it is ready. `label` names them in errors.
 */
export async function startChildFleet<Job, Result>(
  entry: string,
  size: number,
  label: string,
): Promise<ChildFleet<Job, Result>> {
  const children: ChildProcess[] = Array.from({ length: size }, () =>
    fork(entry, [], {
      execArgv: ['--eval', CHILD_BOOTSTRAP],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const nextMessage = (child: ChildProcess) => nextMessageOf<Result>(child, label);
  const fleet: ChildFleet<Job, Result> = {
    async run(job) {
      const replies = children.map(nextMessage);
      for (const child of children) post<Job>(child, { type: 'run', job });
      return (await Promise.all(replies)).map((reply) => {
        if (reply.type === 'result') return reply.result;
        throw new Error(`${label} failed: ${reply.type === 'failed' ? reply.error : reply.type}`);
      });
    },
    async stop() {
      await Promise.all(children.map((child) => stopChild(child)));
    },
  };
  try {
    await Promise.all(children.map(nextMessage));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

function post<Job>(child: ChildProcess, message: FleetParentMessage<Job>): void {
  child.send(message);
}

/** The child's next message; rejects if it exits first. */
function nextMessageOf<Result>(
  child: ChildProcess,
  label: string,
): Promise<FleetChildMessage<Result>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FleetChildMessage<Result>) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`${label} ${child.pid} exited (code ${code}) before answering`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) post(child, { type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
