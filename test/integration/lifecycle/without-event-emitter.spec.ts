import { Test } from '@nestjs/testing';
import { MissingDependencyError, QueueGateModule, TaskLifecycleListener } from '../../../src';
import { CapturedLogger } from '../../support/http-app';
import { closeClient, newRedis, testRedisUrl, uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, startGateApp } from './lifecycle-apps';

describe('without EventEmitterModule', () => {
  const keyPrefix = uniquePrefix('lifecycle-no-emitter');
  let app: GateApp;

  beforeAll(async () => {
    app = await startGateApp({
      keyPrefix,
      events: false,
      gate: { limits: { solo: 1 }, lease: { minSeconds: 0.5, maxSeconds: 0.5 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await dropPrefix(keyPrefix);
  });

  it('boots, and the service acquires, refuses, releases and reacquires', async () => {
    expect(app.app.get(TaskLifecycleListener)).toBeInstanceOf(TaskLifecycleListener);
    const first = await app.gate.acquire('solo');
    expect(first.acquired).toBe(true);
    expect((await app.gate.acquire('solo')).acquired).toBe(false);

    expect(await app.gate.release('solo', first.taskId)).toBe(true);
    expect((await app.gate.reacquire('solo', first.taskId)).acquired).toBe(true);
    expect(await app.gate.usage('solo')).toMatchObject({ used: 1, limit: 1, available: 0 });
    await app.gate.release('solo', first.taskId);
  });

  it('a keep-alive that loses its lease still reports it, with no emitter to tell', async () => {
    const { taskId } = await app.gate.acquire('solo');
    const onLost = jest.fn();
    const handle = app.gate.keepAlive('solo', taskId, { everySeconds: 0.1, onLost });
    const client = newRedis();
    try {
      await client.zrem(`${keyPrefix}{solo}`, taskId);
    } finally {
      await closeClient(client);
    }

    await eventually(() => expect(handle.lost).toBe(true));
    expect(onLost).toHaveBeenCalledTimes(1);
  });

  it('asking for events by name is a boot error that names @nestjs/event-emitter', async () => {
    const prefix = uniquePrefix('lifecycle-no-emitter-named');
    const compiling = Test.createTestingModule({
      imports: [
        QueueGateModule.forRoot({
          store: 'memory',
          keyPrefix: prefix,
          events: { succeeded: 'x' },
        }),
      ],
    })
      .setLogger(new CapturedLogger())
      .compile();

    const error: unknown = await compiling.then(
      async (moduleRef) => {
        await moduleRef.close();
        return undefined;
      },
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect((error as Error).message).toContain('@nestjs/event-emitter');
    expect((error as Error).message).toMatch(/EventEmitterModule\.forRoot\(\)/);
  });

  it('the boot error leaves no Redis connection of the module behind', async () => {
    const name = `qgate-boot-error-${Math.random().toString(36).slice(2, 10)}`;
    const compiling = Test.createTestingModule({
      imports: [
        QueueGateModule.forRoot({
          redis: { url: testRedisUrl(), options: { connectionName: name } },
          keyPrefix: uniquePrefix('lifecycle-no-emitter-redis'),
          events: { succeeded: 'x' },
        }),
      ],
    })
      .setLogger(new CapturedLogger())
      .compile();
    await expect(compiling).rejects.toBeInstanceOf(MissingDependencyError);

    const client = newRedis();
    try {
      await eventually(async () => expect(await client.client('LIST')).not.toContain(name));
    } finally {
      await closeClient(client);
    }
  });
});
