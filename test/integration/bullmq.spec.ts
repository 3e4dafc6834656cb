import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { QueueGateService } from '../../src';
import { addGatedJob, gateJob } from '../../src/bullmq';
import {
  type BullmqApp,
  bullmqPrefixes,
  startBullmqApp,
  stopBullmqApp,
} from '../support/bullmq-app';
import { eventually, sleep } from '../support/eventually';

const QUEUE = 'render';
const MODEL = 'video';

type Behaviour = 'ok' | 'fail-once' | 'fail-always' | 'unrecoverable';

/** Runs each job as its data says, and remembers what ran. */
@Processor(QUEUE)
class RenderProcessor extends WorkerHost {
  readonly runs: string[] = [];

  async process(job: Job<{ behaviour: Behaviour }>): Promise<string> {
    this.runs.push(`${job.id}#${job.attemptsMade}`);
    await sleep(50);
    const { behaviour } = job.data;
    if (behaviour === 'unrecoverable') throw new UnrecoverableError('bad input');
    if (behaviour === 'fail-always') throw new Error('always fails');
    if (behaviour === 'fail-once' && job.attemptsMade === 0) throw new Error('fails once');
    return 'done';
  }
}

/**
 * The BullMQ integration against real BullMQ on the run's Redis: the gate follows the jobs of
 * a `@Processor` and gives each slot back exactly when its job is done for good.
 */
describe('nestjs-queue-gate/bullmq', () => {
  let app: INestApplicationContext;
  let gate: QueueGateService;
  let queue: Queue;
  let processor: RenderProcessor;
  let held: BullmqApp<RenderProcessor>['held'];
  const { prefix, bullPrefix } = bullmqPrefixes('bullmq');

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
    await stopBullmqApp(app, prefix);
  });

  async function addFor(behaviour: Behaviour, opts: Record<string, unknown> = {}) {
    const slot = await gate.acquire(MODEL);
    expect(slot.acquired).toBe(true);
    const job = gateJob(slot, { behaviour }, opts);
    await queue.add('render', job.data, job.opts);
    return slot;
  }

  it('releases the slot of a job that completes', async () => {
    const slot = await addFor('ok');
    await eventually(() => expect(processor.runs).toContain(`${slot.taskId}#0`));
    await eventually(async () => expect(await held(slot.taskId)).toBe(false));
  });

  it('keeps the slot over a retry with backoff, and releases it once the retry succeeds', async () => {
    const slot = await addFor('fail-once', { attempts: 2, backoff: { type: 'fixed', delay: 400 } });
    await eventually(() => expect(processor.runs).toContain(`${slot.taskId}#0`));
    // Between the failure and the retry the job is delayed: its slot stays.
    await sleep(200);
    expect(processor.runs).not.toContain(`${slot.taskId}#1`);
    expect(await held(slot.taskId)).toBe(true);
    await eventually(() => expect(processor.runs).toContain(`${slot.taskId}#1`));
    await eventually(async () => expect(await held(slot.taskId)).toBe(false));
  });

  it('releases the slot of a job that fails for good', async () => {
    const slot = await addFor('fail-always', { attempts: 2, backoff: 100 });
    await eventually(() => expect(processor.runs).toContain(`${slot.taskId}#1`));
    await eventually(async () => expect(await held(slot.taskId)).toBe(false));
  });

  it('releases the slot of a job that throws UnrecoverableError, whatever attempts are left', async () => {
    const slot = await addFor('unrecoverable', { attempts: 5, backoff: 100 });
    await eventually(async () => expect(await held(slot.taskId)).toBe(false));
    expect(processor.runs.filter((run) => run.startsWith(`${slot.taskId}#`))).toEqual([
      `${slot.taskId}#0`,
    ]);
  });

  it('addGatedJob takes the slot at add time, and adds nothing when the gate refuses', async () => {
    await eventually(async () => expect((await gate.usage(MODEL)).used).toBe(0));
    const full = await Promise.all([gate.acquire(MODEL), gate.acquire(MODEL), gate.acquire(MODEL)]);
    const refused = await addGatedJob(gate, queue, MODEL, 'render', { behaviour: 'ok' });
    expect(refused).toMatchObject({ added: false, job: null, slot: { acquired: false } });
    await Promise.all(full.map((slot) => gate.release(MODEL, slot.taskId, { token: slot.token! })));

    const added = await addGatedJob(gate, queue, MODEL, 'render', { behaviour: 'ok' });
    expect(added.added).toBe(true);
    expect(added.job?.id).toBe(added.slot.taskId);
    await eventually(() => expect(processor.runs).toContain(`${added.slot.taskId}#0`));
    await eventually(async () => expect(await held(added.slot.taskId)).toBe(false));
  });

  it('ends with an empty gate', async () => {
    await eventually(async () => expect((await gate.usage(MODEL)).used).toBe(0));
  });
});
