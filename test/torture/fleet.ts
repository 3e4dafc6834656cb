import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CHILD_BOOTSTRAP } from '../support/strictness-register';
import type { RunSettings } from './config';
import type { ChildMessage, ParentMessage } from './protocol';

/**
 * One child process of the run (an API app or a worker), started through the strictness test's
 * bootstrap so it runs the TypeScript sources as they are. Its output goes to `<label>.log` in
 * the ledger directory. Only this pid is ever signalled.
 */
export class Child {
  private constructor(
    readonly label: string,
    private readonly process: ChildProcess,
    /** The HTTP port of an API app. */
    readonly port: number | undefined,
  ) {}

  static async start(
    entry: 'api-app' | 'worker',
    label: string,
    settings: RunSettings,
  ): Promise<Child> {
    const log = openSync(join(settings.ledgerDir, `${label}.log`), 'a');
    const child = fork(join(__dirname, `${entry}.ts`), [JSON.stringify(settings), label], {
      execArgv: ['--eval', CHILD_BOOTSTRAP],
      stdio: ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    let ready: ChildMessage;
    try {
      ready = await nextMessage(child, 60_000);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    if (ready.type !== 'ready') {
      child.kill('SIGKILL');
      throw new Error(
        `${label} did not start: ${ready.type === 'failed' ? ready.error : ready.type}`,
      );
    }
    return new Child(label, child, ready.port);
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Tasks a worker is running; undefined when it does not answer in time. */
  async running(): Promise<number | undefined> {
    if (!this.alive || !this.process.connected) return undefined;
    const answer = nextMessage(this.process, 2_000).catch(() => undefined);
    this.post({ type: 'status' });
    const message = await answer;
    return message?.type === 'status' ? message.running : undefined;
  }

  /** SIGKILL, as a crash: the process ends no task and sends no release. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    const exited = this.exited();
    this.process.kill('SIGKILL');
    await exited;
  }

  /** SIGKILL without waiting, for an exit handler. */
  killNow(): void {
    if (this.alive) this.process.kill('SIGKILL');
  }

  /** Asks the child to shut down cleanly; SIGKILLs it after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    const exited = this.exited();
    if (this.process.connected) this.post({ type: 'stop' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private exited(): Promise<void> {
    return new Promise((resolve) => this.process.once('exit', () => resolve()));
  }

  private post(message: ParentMessage): void {
    this.process.send(message);
  }
}

/** The child's next message; rejects when it exits first or `timeoutMs` passes. */
function nextMessage(child: ChildProcess, timeoutMs: number): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: ChildMessage) => {
      done();
      resolve(message);
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`child ${child.pid} exited (${signal ?? code}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child ${child.pid} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
