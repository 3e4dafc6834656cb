import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import type { QueueGateService } from '../../src';
import { bullmqActiveTaskIds, gateJob } from '../../src/bullmq';
import {
  type BullmqApp,
  bullmqPrefixes,
  startBullmqApp,
  stopBullmqApp,
} from '../support/bullmq-app';
import { eventually } from '../support/eventually';

const QUEUE = 'render';
const MODEL = 'video';

/** Runs one job at a time; each job runs until the test lets it end. */
@Processor(QUEUE)
class BlockingProcessor extends WorkerHost {
  readonly started: string[] = [];
  private readonly ends = new Map<string, () => void>();

  async process(job: Job): Promise<string> {
    this.started.push(job.id!);
    await new Promise<void>((resolve) => this.ends.set(job.id!, resolve));
    return 'done';
  }

  finishAll(): void {
    for (const end of this.ends.values()) end();
  }
}

/**
 * `bullmqActiveTaskIds` as the reconcile source, on real BullMQ: a job removed while it waited
 * (which no worker event reports) loses its slot at the next reconcile, while the slots of the
 * jobs still waiting, delayed or active stay.
 */
describe('nestjs-queue-gate/bullmq: the queue as a reconcile source', () => {
  let app: INestApplicationContext;
  let gate: QueueGateService;
  let queue: Queue;
  let processor: BlockingProcessor;
  let holderIds: BullmqApp<BlockingProcessor>['holderIds'];
  const { prefix, bullPrefix } = bullmqPrefixes('bullmq-reconcile');

  beforeAll(async () => {
    ({ app, gate, queue, processor, holderIds } = await startBullmqApp({
      prefix,
      bullPrefix,
      queue: QUEUE,
      model: MODEL,
      limits: { [MODEL]: 20, other: 5 },
      processor: BlockingProcessor,
    }));
  });

  afterAll(async () => {
    // Let every job end, even one the worker takes while it closes.
    await stopBullmqApp(app, prefix, () => processor?.finishAll());
  });

  async function addJob(opts: Record<string, unknown> = {}, model = MODEL) {
    const slot = await gate.acquire(model);
    expect(slot.acquired).toBe(true);
    const job = gateJob(slot, { prompt: 'a cat' }, opts);
    return queue.add('render', job.data, job.opts);
  }

  it('removes the slot of a job removed while it waited, and keeps the live ones', async () => {
    const active = await addJob();
    await eventually(() => expect(processor.started).toContain(active.id));
    const waiting = await addJob(); // behind the active one: the worker runs one at a time
    const delayed = await addJob({ delay: 60_000 });
    const prioritized = await addJob({ priority: 3 });
    const removed = await addJob({ delay: 60_000 });
    await removed.remove();
    const otherModel = await addJob({ delay: 60_000 }, 'other');

    const live = [active.id!, waiting.id!, delayed.id!, prioritized.id!].sort();
    expect(await holderIds()).toEqual([...live, removed.id!].sort());

    const ids = await bullmqActiveTaskIds(queue, MODEL, { pageSize: 2 });
    expect([...ids].sort()).toEqual(live);
    expect(await bullmqActiveTaskIds(queue, 'other')).toEqual([otherModel.id]);

    const result = await gate.reconcile(MODEL, ids);
    expect(result).toMatchObject({ added: 0, removed: 1, used: 4 });
    expect(await holderIds()).toEqual(live);
    // A second round changes nothing.
    expect(await gate.reconcile(MODEL, await bullmqActiveTaskIds(queue, MODEL))).toMatchObject({
      added: 0,
      removed: 0,
      used: 4,
    });

    // The live jobs run on and give their slots back as usual.
    await delayed.remove();
    await otherModel.remove();
    await gate.reconcile(MODEL, await bullmqActiveTaskIds(queue, MODEL));
    await gate.reconcile('other', await bullmqActiveTaskIds(queue, 'other'));
    // Whatever order the worker takes them in (BullMQ runs unprioritized jobs first).
    await eventually(
      async () => {
        processor.finishAll();
        expect(processor.started).toEqual(
          expect.arrayContaining(live.filter((id) => id !== delayed.id)),
        );
        expect((await gate.usage(MODEL)).used).toBe(0);
      },
      { timeoutMs: 10_000 },
    );
    expect((await gate.usage('other')).used).toBe(0);
  });

  it('finds the model with modelOf for a job added without a mark or data.model', async () => {
    const job = await queue.add('render', { kind: 'thumb' }, { delay: 60_000 });
    const ids = await bullmqActiveTaskIds(queue, 'thumbs', {
      modelOf: (j) => ((j.data as { kind?: string }).kind === 'thumb' ? 'thumbs' : undefined),
    });
    expect(ids).toEqual([job.id]);
    expect(await bullmqActiveTaskIds(queue, MODEL)).toEqual([]);
    await job.remove();
  });

  it('throws, naming the queue, rather than return a partial list past maxJobs', async () => {
    const jobs = await Promise.all(
      [1, 2, 3].map(() => queue.add('render', { model: MODEL }, { delay: 60_000 })),
    );
    await expect(bullmqActiveTaskIds(queue, MODEL, { maxJobs: 2, pageSize: 1 })).rejects.toThrow(
      /queue "render".*maxJobs \(2\)/,
    );
    expect(
      [...(await bullmqActiveTaskIds(queue, MODEL, { maxJobs: 3, pageSize: 1 }))].sort(),
    ).toEqual(jobs.map((job) => job.id).sort());
    await expect(bullmqActiveTaskIds(queue, MODEL, { pageSize: 0 })).rejects.toThrow(RangeError);
    await Promise.all(jobs.map((job) => job.remove()));
  });
});
