import { Controller, type ExecutionContext, Post } from '@nestjs/common';
import {
  GateSlot,
  type GateSlotInfo,
  QUEUE_GATE_EVENTS,
  QueueLimited,
  TaskLifecycleEvent,
} from '../../../src';
import { post } from '../../support/http-app';
import { uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, startGateApp } from './lifecycle-apps';

const LIMIT = 2;

const modelParam = (context: ExecutionContext) =>
  context.switchToHttp().getRequest<{ params: { model: string } }>().params.model;

/** The API side: creates a task per POST and answers with the slot the task must be stored with. */
@Controller('tasks')
class TasksController {
  @Post(':model')
  @QueueLimited(modelParam)
  create(@GateSlot() slot: GateSlotInfo) {
    return { taskId: slot.taskId, model: slot.model };
  }
}

describe('lifecycle across an API app and a worker app sharing one Redis', () => {
  const keyPrefix = uniquePrefix('lifecycle-api-worker');
  let api: GateApp;
  let worker: GateApp;

  beforeAll(async () => {
    // Two separate Nest applications, as two deployments: only Redis and the prefix are shared.
    api = await startGateApp({
      keyPrefix,
      http: true,
      forceCloseConnections: true,
      controllers: [TasksController],
      gate: { defaultLimit: LIMIT },
    });
    worker = await startGateApp({ keyPrefix, events: true, gate: { defaultLimit: LIMIT } });
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await dropPrefix(keyPrefix);
  });

  /** Fills the model's gate through the API and returns the task ids it admitted. */
  async function fill(model: string): Promise<string[]> {
    const taskIds: string[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const reply = await post(`${api.url}/tasks/${model}`);
      expect(reply.status).toBe(201);
      taskIds.push(reply.json.taskId);
    }
    const refused = await post(`${api.url}/tasks/${model}`);
    expect(refused.status).toBe(429);
    expect((await api.gate.usage(model)).used).toBe(LIMIT);
    return taskIds;
  }

  it('a worker emitting succeeded frees the slot in the API, which admits again', async () => {
    const [first, second] = await fill('succeeded');

    // Fire-and-forget, as a worker would: the release happens behind the emit.
    worker.emitter.emit(QUEUE_GATE_EVENTS.succeeded, new TaskLifecycleEvent('succeeded', first));

    await eventually(async () => expect((await api.gate.usage('succeeded')).used).toBe(LIMIT - 1));
    expect((await api.gate.holders('succeeded')).map((h) => h.taskId)).toEqual([second]);
    const again = await post(`${api.url}/tasks/succeeded`);
    expect(again.status).toBe(201);
    expect(again.json.taskId).not.toBe(first);
    expect((await post(`${api.url}/tasks/succeeded`)).status).toBe(429);
  });

  it.each([
    ['failed', QUEUE_GATE_EVENTS.failed],
    ['cancelled', QUEUE_GATE_EVENTS.cancelled],
  ])('a worker emitting %s frees the slot', async (model, event) => {
    const [first, second] = await fill(model);

    // emitAsync hands back each listener's answer: true once the release landed.
    await expect(
      worker.emitter.emitAsync(event, new TaskLifecycleEvent(model, second)),
    ).resolves.toEqual([true]);

    expect(await api.gate.usage(model)).toMatchObject({ used: LIMIT - 1, available: 1 });
    expect((await api.gate.holders(model)).map((h) => h.taskId)).toEqual([first]);
    expect((await post(`${api.url}/tasks/${model}`)).status).toBe(201);
  });

  it('an ending event for a task of another gate leaves this gate alone', async () => {
    const [first] = await fill('other');

    await worker.emitter.emitAsync(
      QUEUE_GATE_EVENTS.succeeded,
      new TaskLifecycleEvent('not-other', first),
    );

    expect((await api.gate.usage('other')).used).toBe(LIMIT);
  });

  it('the same task ending twice (a duplicate delivery) frees one slot', async () => {
    const [first] = await fill('twice');
    const done = new TaskLifecycleEvent('twice', first);

    await worker.emitter.emitAsync(QUEUE_GATE_EVENTS.succeeded, done);
    await worker.emitter.emitAsync(QUEUE_GATE_EVENTS.failed, done);

    expect((await api.gate.usage('twice')).used).toBe(LIMIT - 1);
  });
});
