import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import { concat, NEVER, type Observable, of } from 'rxjs';
import {
  GateSlot,
  type GateSlotInfo,
  QueueLimited,
  REQUEST_BOUND_HOLDER_PREFIX,
  ScheduledReconciler,
} from '../../../src';
import { isEventStream, openEventStream } from '../../support/http-app';
import { uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, startGateApp } from './lifecycle-apps';

const MODEL = 'render';

/** A stream on the reconciled model: its slot is bound to its response, in no database. */
@Controller('render')
class RenderStreamController {
  @Sse('preview')
  @QueueLimited(MODEL, { limit: 3 })
  preview(@GateSlot() slot: GateSlotInfo): Observable<MessageEvent> {
    return concat(of({ type: 'slot', data: slot }), NEVER);
  }
}

describe('scheduled reconcile matches holders by admission', () => {
  const keyPrefix = uniquePrefix('reconcile-identity');
  /** The application's active tasks of MODEL, as its database would list them. */
  const active = new Set<string>();
  let app: GateApp;
  let reconciler: ScheduledReconciler;

  beforeAll(async () => {
    app = await startGateApp({
      keyPrefix,
      http: true,
      forceCloseConnections: true,
      controllers: [RenderStreamController],
      gate: {
        // Rounds are run by the tests, one at a time, never by the timer.
        reconcile: { everySeconds: 3_600, models: [MODEL], activeTaskIds: () => [...active] },
      },
    });
    reconciler = app.app.get(ScheduledReconciler);
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  beforeEach(() => active.clear());

  const holdersNow = async () =>
    (await app.gate.holders(MODEL)).map(({ taskId, token }) => ({ taskId, token }));

  it('keeps a task unknown in two rounds for two different reasons', async () => {
    const run = await app.gate.acquire(MODEL);
    active.add(run.taskId);
    await reconciler.runOnce();

    // The run failed: the database says so before the worker's release has landed.
    active.delete(run.taskId);
    await reconciler.runOnce();
    expect(await holdersNow()).toEqual([{ taskId: run.taskId, token: run.token }]);

    // Retried at once: a new admission, not yet recorded as queued when the next round reads.
    const retry = await app.gate.reacquire(MODEL, run.taskId);
    expect(retry.token).toBeGreaterThan(run.token!);
    await reconciler.runOnce();
    expect(await holdersNow()).toEqual([{ taskId: run.taskId, token: retry.token }]);

    // The database catches up: the retry is a known task from now on.
    active.add(run.taskId);
    await reconciler.runOnce();
    await reconciler.runOnce();
    expect(await holdersNow()).toEqual([{ taskId: run.taskId, token: retry.token }]);
    await app.gate.release(MODEL, run.taskId, { token: retry.token! });
  });

  it('still removes one admission found unknown in two rounds in a row', async () => {
    const leaked = await app.gate.acquire(MODEL);
    await reconciler.runOnce();
    expect(await holdersNow()).toEqual([{ taskId: leaked.taskId, token: leaked.token }]);
    await reconciler.runOnce();
    expect(await holdersNow()).toEqual([]);
  });

  it('never removes the slot of a stream on a reconciled model, round after round', async () => {
    const stream = await openEventStream(`${app.url}/render/preview`);
    if (!isEventStream(stream)) throw new Error(`refused: ${stream.status} ${stream.text}`);
    try {
      const slot = (await stream.next())!.data as GateSlotInfo;
      expect(slot.taskId.startsWith(REQUEST_BOUND_HOLDER_PREFIX)).toBe(true);
      expect(slot.token).toEqual(expect.any(Number));

      for (let round = 0; round < 5; round++) await reconciler.runOnce();

      expect(await holdersNow()).toEqual([{ taskId: slot.taskId, token: slot.token }]);
    } finally {
      stream.disconnect();
    }
    await eventually(async () => expect(await holdersNow()).toEqual([]));
  });
});
