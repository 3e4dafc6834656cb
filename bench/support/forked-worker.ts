import { type ChildProcess, fork } from 'node:child_process';

/**
 * A benchmark's child process and its parent talk in three steps: the parent sends the job, the
 * child answers ready once connected, the parent sends the schedule (so that every child starts
 * measuring on one shared clock), the child answers with its report and exits.
 */
export type ParentMessage<Job, Schedule> = { job: Job } | { go: Schedule };
export type WorkerMessage<Report> = { ready: true } | { done: Report } | { failed: string };

/** The parent's handle on one child, connected and ready for its schedule. */
export interface ForkedWorker<Schedule, Report> {
  /** Starts the child's work on `schedule`; resolves with its report. */
  run(schedule: Schedule): Promise<Report>;
  /** Waits for the child to exit (it does after its report), killing it if it lingers. */
  stop(): Promise<void>;
}

/**
 * Forks `script` (a compiled worker entry that calls {@link serveWorkerJob}), gives it `job` and
 * waits until it is ready. `label` names the child in errors; `lingerMs` is how long `stop`
 * waits before killing it.
 */
export async function startForkedWorker<Job, Schedule, Report>(
  script: string,
  job: Job,
  { label, lingerMs }: { label: string; lingerMs: number },
): Promise<ForkedWorker<Schedule, Report>> {
  const child = fork(script, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const post = (message: ParentMessage<Job, Schedule>) => child.send(message);
  const ready = nextMessage<Report, true>(child, label, (message) =>
    'ready' in message ? true : undefined,
  );
  post({ job });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    run(schedule) {
      const done = nextMessage<Report, Report>(child, label, (message) =>
        'done' in message ? message.done : undefined,
      );
      post({ go: schedule });
      return done;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), lingerMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's next message that `pick` accepts; rejects on a `failed` message or an exit
 * before it, so that a crash fails the section instead of hanging it.
 */
function nextMessage<Report, T>(
  child: ChildProcess,
  label: string,
  pick: (message: WorkerMessage<Report>) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      cleanUp();
      reject(new Error(`${label} exited with code ${code}`));
    };
    const onMessage = (message: WorkerMessage<Report>) => {
      if ('failed' in message) {
        cleanUp();
        reject(new Error(`${label} failed: ${message.failed}`));
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

/** The child's side: what its job's `main` may do besides working. */
export interface WorkerChannel<Schedule, Report> {
  /** Says the child is connected; resolves with the schedule the parent sends next. */
  ready(): Promise<Schedule>;
  /** Sends the report; resolves once it is handed to the IPC channel. */
  done(report: Report): Promise<void>;
}

/**
 * Runs `main` on the job the parent sends, then exits: 0 after it, 1 after sending its error.
 */
export function serveWorkerJob<Job, Schedule, Report>(
  main: (job: Job, channel: WorkerChannel<Schedule, Report>) => Promise<void>,
): void {
  const channel: WorkerChannel<Schedule, Report> = {
    async ready() {
      const go = nextSchedule<Job, Schedule>();
      await send<Report>({ ready: true });
      return go;
    },
    done: (report) => send<Report>({ done: report }),
  };
  process.once('message', (message: ParentMessage<Job, Schedule>) => {
    if (!('job' in message)) return;
    main(message.job, channel)
      .then(() => process.exit(0))
      .catch(async (error: unknown) => {
        const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
        await send<Report>({ failed: text }).catch(() => undefined);
        process.exit(1);
      });
  });
}

function nextSchedule<Job, Schedule>(): Promise<Schedule> {
  return new Promise((resolve) => {
    const listener = (message: ParentMessage<Job, Schedule>) => {
      if (!('go' in message)) return;
      process.off('message', listener);
      resolve(message.go);
    };
    process.on('message', listener);
  });
}

/** Resolves once the message is handed to the IPC channel, so exiting next cannot lose it. */
function send<Report>(message: WorkerMessage<Report>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('not forked with an IPC channel'));
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}
