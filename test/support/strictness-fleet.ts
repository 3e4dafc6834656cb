import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type {
  ChildMessage,
  ParentMessage,
  StrictnessJob,
  StrictnessResult,
} from './strictness-protocol';
import { CHILD_BOOTSTRAP } from './strictness-register';

/** Child processes of the strictness test, each one application instance. */
export interface Fleet {
  /** Runs the job in every child at once; resolves with each child's result. */
  run(job: StrictnessJob): Promise<StrictnessResult[]>;
  /** Asks every child to exit, and kills the ones that do not. */
  stop(): Promise<void>;
}

export async function startFleet(size: number): Promise<Fleet> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < size; i++) {
    children.push(
      fork(join(__dirname, 'strictness-child.ts'), [], {
        execArgv: ['--eval', CHILD_BOOTSTRAP],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }
  const fleet: Fleet = {
    async run(job) {
      const replies = children.map((child) => nextMessage(child));
      for (const child of children) post(child, { type: 'run', job });
      return (await Promise.all(replies)).map((reply) => {
        if (reply.type === 'result') return reply.result;
        throw new Error(
          `strictness child failed: ${reply.type === 'failed' ? reply.error : reply.type}`,
        );
      });
    },
    async stop() {
      await Promise.all(children.map(stopChild));
    },
  };
  try {
    await Promise.all(children.map((child) => nextMessage(child)));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/** Adds up what the children saw: the highest in-flight count of all, and the totals. */
export function combine(results: StrictnessResult[]): StrictnessResult {
  return {
    maxInFlight: Math.max(...results.map((r) => r.maxInFlight)),
    admitted: sum(results.map((r) => r.admitted)),
    refused: sum(results.map((r) => r.refused)),
    errors: sum(results.map((r) => r.errors)),
    lastError: results.find((r) => r.lastError)?.lastError,
  };
}

function post(child: ChildProcess, message: ParentMessage): void {
  child.send(message);
}

/** The child's next message; rejects if it exits first. */
function nextMessage(child: ChildProcess): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`strictness child ${child.pid} exited (code ${code}) before answering`));
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

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
