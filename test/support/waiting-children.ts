import { fork } from 'node:child_process';
import { join } from 'node:path';
import { CHILD_BOOTSTRAP } from './strictness-register';
import type {
  WaitingAcquire,
  WaitingChildMessage,
  WaitingGateConfig,
  WaitingOutcome,
  WaitingParentMessage,
} from './waiting-protocol';

/** A child process with one QueueGate of its own, driven by the test over IPC. */
export interface WaitingChild {
  readonly pid: number;
  /** Builds the child's gate (replacing one it had). */
  configure(config: WaitingGateConfig): Promise<void>;
  /** Starts an acquire in the child; resolves when it ends there (admitted, refused or thrown). */
  acquire(request: Omit<WaitingAcquire, 'id'>): { id: number; outcome: Promise<WaitingOutcome> };
  /** Fires the signal of an abortable acquire. */
  abort(id: number): void;
  /** SIGKILLs the child (this very process, by its pid) and waits for it to exit. */
  kill(): Promise<void>;
  /** Asks the child to close its gate and exit; kills it if it does not within 5 s. */
  stop(): Promise<void>;
}

let ids = 0;

/** Forks `count` children running waiting-child.ts and waits until each is ready. */
export async function startWaitingChildren(count: number): Promise<WaitingChild[]> {
  const children = Array.from({ length: count }, () => startChild());
  try {
    await Promise.all(children.map(({ ready }) => ready));
  } catch (error) {
    await Promise.all(children.map(({ child }) => child.stop()));
    throw error;
  }
  return children.map(({ child }) => child);
}

function startChild(): { child: WaitingChild; ready: Promise<void> } {
  const proc = fork(join(__dirname, 'waiting-child.ts'), [], {
    execArgv: ['--eval', CHILD_BOOTSTRAP],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const outcomes = new Map<number, (outcome: WaitingOutcome) => void>();
  let onReply: ((message: WaitingChildMessage) => void) | undefined;
  let failure: Error | undefined;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const fail = (error: Error) => {
    failure ??= error;
    // An acquire that can no longer end in the child ends here, as an error.
    for (const [id, settle] of outcomes) {
      settle({ id, error: { name: 'ChildGone', message: failure.message } });
    }
    outcomes.clear();
  };
  proc.on('message', (message: WaitingChildMessage) => {
    if (message.type === 'done') {
      outcomes.get(message.outcome.id)?.(message.outcome);
      outcomes.delete(message.outcome.id);
    } else if (message.type === 'failed') {
      fail(new Error(`waiting child ${proc.pid} failed: ${message.error}`));
      onReply?.(message);
    } else {
      onReply?.(message);
    }
  });
  proc.once('exit', (code, signal) =>
    fail(new Error(`waiting child ${proc.pid} exited (code ${code}, signal ${signal})`)),
  );

  /** The next 'ready' / 'configured' reply; rejects on a failure or an exit. */
  const reply = (expected: WaitingChildMessage['type']) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      const onExit = () => reject(failure ?? new Error('waiting child exited'));
      proc.once('exit', onExit);
      onReply = (message) => {
        proc.off('exit', onExit);
        onReply = undefined;
        if (message.type === expected) resolve();
        else reject(failure ?? new Error(`waiting child answered ${message.type}`));
      };
    });
  const post = (message: WaitingParentMessage) => proc.send(message);

  const child: WaitingChild = {
    pid: proc.pid!,
    async configure(config) {
      const configured = reply('configured');
      post({ type: 'configure', config });
      await configured;
    },
    acquire(request) {
      const id = ++ids;
      const outcome = new Promise<WaitingOutcome>((resolve) => {
        if (failure) {
          resolve({ id, error: { name: 'ChildGone', message: failure.message } });
          return;
        }
        outcomes.set(id, resolve);
      });
      if (!failure) post({ type: 'acquire', request: { ...request, id } });
      return { id, outcome };
    },
    abort(id) {
      post({ type: 'abort', id });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      if (proc.connected) post({ type: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { child, ready: reply('ready') };
}
