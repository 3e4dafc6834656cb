import { type BeforeApplicationShutdown, Injectable, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import {
  QUEUE_GATE_EVENTS,
  QueueGateModule,
  type QueueGateModuleOptions,
  QueueGateService,
  TaskLifecycleEvent,
} from '../../../src';
import { RequestSlot } from '../../../src/nest/request-slot';
import { ResponseSlotRegistry } from '../../../src/nest/response-slot-registry';
import { CapturedLogger } from '../../support/http-app';
import { type RedisServer, startRedisServer } from '../../support/redis-server';
import { uniquePrefix } from '../../support/test-redis';
import { dropPrefix, membersOf } from './lifecycle-apps';

const MODEL = 'render';

/** What the draining worker does at shutdown; set by each test. */
const drain = {
  work: undefined as undefined | ((gate: QueueGateService, events: EventEmitter2) => Promise<void>),
};

/**
 * A worker that finishes its running tasks in `beforeApplicationShutdown`, as the Nest docs
 * advise for graceful shutdown. It lives two imports below the root, so its hook runs after
 * the queue gate module's own `beforeApplicationShutdown`.
 */
@Injectable()
class DrainingWorker implements BeforeApplicationShutdown {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly events: EventEmitter2,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    const gate = this.moduleRef.get(QueueGateService, { strict: false });
    await drain.work?.(gate, this.events);
  }
}

@Module({ providers: [DrainingWorker] })
class WorkerModule {}

@Module({ imports: [WorkerModule] })
class FeatureModule {}

async function startWorkerApp(options: QueueGateModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [EventEmitterModule.forRoot(), QueueGateModule.forRoot(options), FeatureModule],
  })
    .setLogger(new CapturedLogger())
    .compile();
  await moduleRef.init();
  return moduleRef;
}

describe('shutdown order', () => {
  let server: RedisServer;

  beforeAll(async () => {
    // A private server, since one test stops it; append-only so the restart keeps the slots.
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });

  afterAll(async () => {
    drain.work = undefined;
    await server?.stop();
  });

  it('handles a succeeded event a worker emits while it drains in beforeApplicationShutdown', async () => {
    const keyPrefix = uniquePrefix('shutdown-order-event');
    const app = await startWorkerApp({ redis: { url: server.url }, keyPrefix });
    try {
      const { taskId } = await app.get(QueueGateService).acquire(MODEL);
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([taskId]);
      let answers: unknown[] = [];
      drain.work = async (_gate, events) => {
        answers = await events.emitAsync(
          QUEUE_GATE_EVENTS.succeeded,
          new TaskLifecycleEvent(MODEL, taskId),
        );
      };

      await app.close();

      expect(answers).toEqual([true]);
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([]);
    } finally {
      drain.work = undefined;
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('delivers a release queued by a worker draining in beforeApplicationShutdown', async () => {
    const keyPrefix = uniquePrefix('shutdown-order-queued');
    const app = await startWorkerApp({
      redis: { url: server.url },
      keyPrefix,
      commandTimeoutMs: 300,
      pendingReleases: { initialDelayMs: 50, maxDelayMs: 300 },
      shutdownTimeoutMs: 15_000,
    });
    let restarted: Promise<void> | undefined;
    try {
      const { taskId } = await app.get(QueueGateService).acquire(MODEL);
      drain.work = async (gate) => {
        // Redis drops out just as the worker finishes its last task: the release is queued.
        await server.stop();
        await expect(gate.release(MODEL, taskId)).rejects.toMatchObject({ releaseQueued: true });
        restarted = server.restart();
      };

      await app.close();

      await restarted;
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([]);
    } finally {
      drain.work = undefined;
      await restarted;
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });

  it('releases a streaming slot whose response ignores the end once shutdownTimeoutMs has passed', async () => {
    const keyPrefix = uniquePrefix('shutdown-order-stuck');
    const app = await startWorkerApp({
      redis: { url: server.url },
      keyPrefix,
      shutdownTimeoutMs: 300,
    });
    try {
      const gate = app.get(QueueGateService);
      const { taskId, token, expiresAt, used, limit } = await gate.acquire(MODEL);
      let endAsked = 0;
      // A transport whose response never reports its end, whatever it is asked.
      const slot = new RequestSlot(
        { model: MODEL, taskId, token, expiresAt, used, limit, tracked: true },
        'response',
        gate,
        { endResponse: () => endAsked++ },
      );
      app.get(ResponseSlotRegistry).track(slot);

      const started = Date.now();
      await app.close();

      expect(endAsked).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(await membersOf(keyPrefix, MODEL, server.url)).toEqual([]);
    } finally {
      await app.close();
      await dropPrefix(keyPrefix, server.url);
    }
  });
});
