import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  SOAK_CONFIG_ENV,
  type SoakChildMessage,
  type SoakChildStats,
  type SoakConfig,
  type SoakParentMessage,
} from './bullmq-soak-protocol';
import { CHILD_BOOTSTRAP } from './strictness-register';

/** One child process of the BullMQ soak test. */
export interface SoakChild {
  readonly pid: number;
  readonly role: 'api' | 'worker';
  /** Asks it to stop; resolves with what it counted. Kills it if it has not exited in 15 s. */
  stop(): Promise<SoakChildStats>;
  /** Kills it if it still runs (cleanup after a failure). */
  kill(): Promise<void>;
}

const ENTRY = { api: 'bullmq-soak-api-child.ts', worker: 'bullmq-soak-worker-child.ts' };

/** Forks `count` children of `role` and waits until each is ready. */
export async function startSoakChildren(
  role: 'api' | 'worker',
  count: number,
  config: SoakConfig,
): Promise<SoakChild[]> {
  const started = Array.from({ length: count }, () => startChild(role, config));
  try {
    await Promise.all(started.map(({ ready }) => ready));
  } catch (error) {
    await Promise.all(started.map(({ child }) => child.kill()));
    throw error;
  }
  return started.map(({ child }) => child);
}

function startChild(
  role: 'api' | 'worker',
  config: SoakConfig,
): { child: SoakChild; ready: Promise<void> } {
  const proc: ChildProcess = fork(join(__dirname, ENTRY[role]), [], {
    execArgv: ['--eval', CHILD_BOOTSTRAP],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SOAK_CONFIG_ENV]: JSON.stringify(config) },
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const next = (expected: SoakChildMessage['type']) =>
    new Promise<SoakChildMessage>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) => {
        proc.off('message', onMessage);
        reject(new Error(`${role} child ${proc.pid} exited (code ${code}, signal ${signal})`));
      };
      const onMessage = (message: SoakChildMessage) => {
        proc.off('exit', onExit);
        proc.off('message', onMessage);
        if (message.type === expected) resolve(message);
        else
          reject(
            new Error(
              `${role} child ${proc.pid}: ${message.type === 'failed' ? message.error : message.type}`,
            ),
          );
      };
      proc.on('message', onMessage);
      proc.once('exit', onExit);
    });
  const ready = next('ready').then(() => undefined);
  const kill = async () => {
    if (!gone()) proc.kill('SIGKILL');
    await exited;
  };
  const child: SoakChild = {
    pid: proc.pid!,
    role,
    async stop() {
      if (gone()) throw new Error(`${role} child ${proc.pid} is gone`);
      const stopped = next('stopped');
      proc.send({ type: 'stop' } satisfies SoakParentMessage);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      try {
        const message = await stopped;
        await exited;
        return (message as Extract<SoakChildMessage, { type: 'stopped' }>).stats;
      } finally {
        clearTimeout(timer);
      }
    },
    kill,
  };
  return { child, ready };
}
