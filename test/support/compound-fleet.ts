import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type {
  CompoundChildMessage,
  CompoundJob,
  CompoundParentMessage,
  CompoundResult,
} from './compound-protocol';
import { CHILD_BOOTSTRAP } from './strictness-register';

/** Child processes of the compound strictness test, each one application instance. */
export interface CompoundFleet {
  /** Runs the job in every child at once; resolves with each child's result. */
  run(job: CompoundJob): Promise<CompoundResult[]>;
  /** Asks every child to exit, and kills (by its pid) any that does not within 5 s. */
  stop(): Promise<void>;
}

export async function startCompoundFleet(size: number): Promise<CompoundFleet> {
  const children: ChildProcess[] = Array.from({ length: size }, () =>
    fork(join(__dirname, 'compound-child.ts'), [], {
      execArgv: ['--eval', CHILD_BOOTSTRAP],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const fleet: CompoundFleet = {
    async run(job) {
      const replies = children.map((child) => nextMessage(child));
      for (const child of children) post(child, { type: 'run', job });
      return (await Promise.all(replies)).map((reply) => {
        if (reply.type === 'result') return reply.result;
        throw new Error(
          `compound child failed: ${reply.type === 'failed' ? reply.error : reply.type}`,
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

function post(child: ChildProcess, message: CompoundParentMessage): void {
  child.send(message);
}

/** The child's next message; rejects if it exits first. */
function nextMessage(child: ChildProcess): Promise<CompoundChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: CompoundChildMessage) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`compound child ${child.pid} exited (code ${code}) before answering`));
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
