import type { QueueGateService } from '../../../src';
import { closeClient, newRedis, uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, sleep, startGateApp } from './lifecycle-apps';

type Hook = (model: string) => Promise<void>;

/**
 * The application's record of active tasks, as the reconcile option reads it, instrumented so a
 * test can act at a precise point of a round: `beforeRead` runs before the database is read
 * (what it does is seen by that round's holder list), `afterRead` right after (a task admitted
 * after the read, the race the two-round rule exists for).
 */
class TaskDatabase {
  readonly active = new Map<string, Set<string>>();
  /** Rounds started per model. */
  readonly rounds = new Map<string, number>();
  /** The gate's holders when each round started, per model and round number. */
  readonly holdersAtStart = new Map<string, Map<number, string[]>>();
  readonly beforeRead = new Map<string, Hook>();
  readonly afterRead = new Map<string, Hook>();
  readonly failing = new Map<string, number>();
  gate?: QueueGateService;

  add(model: string, ...taskIds: string[]): void {
    const set = this.active.get(model) ?? new Set<string>();
    taskIds.forEach((taskId) => set.add(taskId));
    this.active.set(model, set);
  }

  roundsOf(model: string): number {
    return this.rounds.get(model) ?? 0;
  }

  readonly activeTaskIds = async (model: string): Promise<string[]> => {
    const round = this.roundsOf(model) + 1;
    this.rounds.set(model, round);
    if (this.gate) {
      const holders = (await this.gate.holders(model)).map((holder) => holder.taskId).sort();
      const byRound = this.holdersAtStart.get(model) ?? new Map<number, string[]>();
      byRound.set(round, holders);
      this.holdersAtStart.set(model, byRound);
    }
    await take(this.beforeRead, model)?.(model);
    const failures = this.failing.get(model) ?? 0;
    if (failures > 0) {
      this.failing.set(model, failures - 1);
      throw new Error('database unreachable');
    }
    const ids = [...(this.active.get(model) ?? [])];
    await take(this.afterRead, model)?.(model);
    return ids;
  };
}

/** A one-shot hook: removed as it is taken. */
function take(hooks: Map<string, Hook>, model: string): Hook | undefined {
  const hook = hooks.get(model);
  hooks.delete(model);
  return hook;
}

describe('scheduled reconcile', () => {
  const keyPrefix = uniquePrefix('lifecycle-reconcile');
  const db = new TaskDatabase();
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({
      keyPrefix,
      gate: {
        limits: { render: 3, upscale: 10, flaky: 10 },
        reconcile: {
          everySeconds: 0.2,
          models: () => ['render', 'upscale', 'flaky'],
          activeTaskIds: db.activeTaskIds,
        },
      },
    });
    db.gate = app.gate;
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  async function taskIdsOf(model: string): Promise<string[]> {
    return (await app.gate.holders(model)).map((holder) => holder.taskId).sort();
  }

  /** Waits until `count` more rounds of `model` have started after now. */
  async function roundsPass(model: string, count: number): Promise<void> {
    const target = db.roundsOf(model) + count;
    await eventually(() => expect(db.roundsOf(model)).toBeGreaterThanOrEqual(target));
  }

  it('restores the true count after the gate key was lost, and the limit holds again', async () => {
    db.add('render', 'r-1', 'r-2', 'r-3');
    for (const taskId of ['r-1', 'r-2', 'r-3']) {
      expect((await app.gate.acquire('render', { taskId })).acquired).toBe(true);
    }
    expect((await app.gate.acquire('render')).acquired).toBe(false);

    // Redis "lost data": the key goes behind the module's back.
    const client = newRedis();
    try {
      expect(await client.del(`${keyPrefix}{render}`)).toBe(1);
    } finally {
      await closeClient(client);
    }

    await eventually(async () => expect((await app.gate.usage('render')).used).toBe(3));
    expect(await taskIdsOf('render')).toEqual(['r-1', 'r-2', 'r-3']);
    const refused = await app.gate.acquire('render', { taskId: 'r-4' });
    expect(refused.acquired).toBe(false);
    expect(await taskIdsOf('render')).toEqual(['r-1', 'r-2', 'r-3']);
    expect(app.logger.fromGate('warn').join('\n')).toMatch(
      /Gate "render" was out of step.*added 3/,
    );
  });

  it('removes a leaked holder after two rounds, sparing one admitted after the read', async () => {
    db.add('upscale', 'u-1');
    await app.gate.acquire('upscale', { taskId: 'u-1' });
    let round = 0;
    // Before the read: a slot the database knows nothing about (a task whose row was lost).
    db.beforeRead.set('upscale', async (model) => {
      round = db.roundsOf(model);
      await app.gate.acquire(model, { taskId: 'leaked' });
    });
    // After the read: a task admitted meanwhile, recorded by the application just after.
    db.afterRead.set('upscale', async (model) => {
      await app.gate.acquire(model, { taskId: 'late' });
      db.add(model, 'late');
    });

    await eventually(() => expect(round).toBeGreaterThan(0));
    await eventually(() => expect(db.holdersAtStart.get('upscale')?.get(round + 2)).toBeDefined());
    const seen = db.holdersAtStart.get('upscale')!;
    // The leak survived the round that first found it unknown, and was gone after the next.
    expect(seen.get(round + 1)).toEqual(['late', 'leaked', 'u-1']);
    expect(seen.get(round + 2)).toEqual(['late', 'u-1']);

    // The late task stays held round after round: it was unknown only once.
    await roundsPass('upscale', 2);
    expect(await taskIdsOf('upscale')).toEqual(['late', 'u-1']);
  });

  it('a round that fails is logged and the next rounds go on', async () => {
    db.add('flaky', 'f-1');
    db.failing.set('flaky', 2);

    // The gate never held f-1: the reconcile adds it once the database answers.
    await eventually(async () => expect(await taskIdsOf('flaky')).toEqual(['f-1']));
    expect(db.failing.get('flaky')).toBe(0);
    expect(app.logger.fromGate('error').join('\n')).toMatch(
      /Scheduled reconcile of gate "flaky" failed: database unreachable/,
    );
  });

  it('stops its rounds when the application closes', async () => {
    await roundsPass('render', 1);
    await app.close();
    const after = db.roundsOf('render');

    await sleep(600);

    expect(db.roundsOf('render')).toBe(after);
  });
});
