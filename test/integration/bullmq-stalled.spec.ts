import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { QueueGateService } from '../../src';
import { gateJob } from '../../src/bullmq';
import {
  type BullmqApp,
  bullmqPrefixes,
  startBullmqApp,
  stopBullmqApp,
} from '../support/bullmq-app';
import { eventually, sleep } from '../support/eventually';
import { CHILD_BOOTSTRAP } from '../support/strictness-register';
import { testRedisUrl } from '../support/test-redis';

const QUEUE = 'render';
const MODEL = 'video';
const LOCK_MS = 1_000;
/** Both workers check for stalled jobs this often (BullMQ throttles the check queue-wide). */
const STALLED_MS = 500;

/** The parent's worker: started by the test once the child's worker died with the job. */
@Processor(QUEUE, { autorun: false, lockDuration: LOCK_MS, stalledInterval: STALLED_MS })
class RenderProcessor extends WorkerHost {
  readonly runs: string[] = [];
  readonly completed: string[] = [];

  async process(job: Job): Promise<string> {
    this.runs.push(`${job.id}#${job.attemptsMade}`);
    await sleep(100);
    this.completed.push(job.id!);
    return 'done';
  }
}

/**
 * A worker process SIGKILLed mid-job, on real BullMQ: its job's lock runs out, BullMQ marks the
 * job stalled and moves it back to waiting, and a second worker (followed by the gate) runs it.
 * The slot is held all along and given back once, when the second worker completes the job.
 */
describe('nestjs-queue-gate/bullmq: a worker killed mid-job', () => {
  let app: INestApplicationContext;
  let gate: QueueGateService;
  let queue: Queue;
  let processor: RenderProcessor;
  let held: BullmqApp<RenderProcessor>['held'];
  let child: ChildProcess | undefined;
  const { prefix, bullPrefix } = bullmqPrefixes('bullmq-stalled');

  beforeAll(async () => {
    ({ app, gate, queue, processor, held } = await startBullmqApp({
      prefix,
      bullPrefix,
      queue: QUEUE,
      model: MODEL,
      limits: { [MODEL]: 3 },
      processor: RenderProcessor,
    }));
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stopBullmqApp(app, prefix);
  });

  /** Forks the child worker; resolves with the id of the job it took. */
  function startChildWorker(): { took: Promise<string>; exited: Promise<NodeJS.Signals | null> } {
    const proc = fork(join(__dirname, '../support/bullmq-stall-child.ts'), [], {
      execArgv: ['--eval', CHILD_BOOTSTRAP],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BULLMQ_STALL_CHILD: JSON.stringify({
          url: testRedisUrl(),
          queue: QUEUE,
          prefix: bullPrefix,
          lockDuration: LOCK_MS,
          stalledInterval: STALLED_MS,
        }),
      },
    });
    child = proc;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.once('exit', (_code, signal) => resolve(signal)),
    );
    const took = new Promise<string>((resolve, reject) => {
      proc.on('message', (message: { type: string; id?: string }) => {
        if (message.type === 'took') resolve(message.id!);
      });
      void exited.then(() => reject(new Error('the child worker exited before taking a job')));
    });
    return { took, exited };
  }

  it('holds the slot while the job stalls and is retaken, and releases it once it completes', async () => {
    const slot = await gate.acquire(MODEL);
    expect(slot.acquired).toBe(true);
    const { data, opts } = gateJob(slot, { prompt: 'a cat' });
    await queue.add('render', data, opts);

    // Holders sampled every 50 ms, from the add to well after the release.
    const samples: { at: number; held: boolean; completed: boolean }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const completed = processor.completed.includes(slot.taskId);
        const isHeld = await held(slot.taskId);
        samples.push({ at: Date.now(), held: isHeld, completed });
        await sleep(50);
      }
    })();

    const stalled: { id: string; at: number }[] = [];
    processor.worker.on('stalled', (id) => stalled.push({ id, at: Date.now() }));
    let killedAt = 0;
    try {
      const childWorker = startChildWorker();
      expect(await childWorker.took).toBe(slot.taskId);
      child!.kill('SIGKILL');
      expect(await childWorker.exited).toBe('SIGKILL');
      killedAt = Date.now();

      // The second worker starts now: its stalled check finds the job once its lock has run out.
      void processor.worker.run();
      await eventually(() => expect(processor.completed).toContain(slot.taskId), {
        timeoutMs: 15_000,
      });
      await eventually(async () => expect((await gate.usage(MODEL)).used).toBe(0));
      await sleep(300);
    } finally {
      sampling = false;
      await sampler;
    }

    // The job ran once in the parent, after BullMQ found it stalled (past the dead lock).
    expect(stalled.map(({ id }) => id)).toEqual([slot.taskId]);
    // The child renewed its lock every LOCK_MS / 2: it outlived the child by at least that much.
    expect(stalled[0].at - killedAt).toBeGreaterThanOrEqual(LOCK_MS / 2 - 100);
    expect(processor.runs).toEqual([`${slot.taskId}#0`]);
    // Held in every sample until the completion; free in every sample after the release.
    const beforeCompletion = samples.filter((s) => !s.completed);
    expect(beforeCompletion.length).toBeGreaterThan(10);
    expect(beforeCompletion.every((s) => s.held)).toBe(true);
    const firstFree = samples.findIndex((s) => !s.held);
    expect(firstFree).toBeGreaterThan(0);
    expect(samples[firstFree].completed).toBe(true);
    expect(samples.slice(firstFree).every((s) => !s.held)).toBe(true);
    expect(await gate.usage(MODEL)).toMatchObject({ used: 0 });
  });
});
