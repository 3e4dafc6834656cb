import 'reflect-metadata';
import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { AddressInfo } from 'node:net';
import { QueueGateModule, QueueGateService } from '../../src';
import { gateSetup } from './gate-options';
import {
  LEDGER,
  PUSH_CLIENT,
  StreamController,
  TasksController,
  WaitingStreamController,
  WaitingTasksController,
} from './api-controllers';
import { STREAM_STATE, StreamState } from './stream-state';
import { Holdings, probeLeases } from './holdings';
import { LedgerWriter } from './ledger';
import { childArgs, type ParentMessage, send } from './protocol';
import { pushClient } from './work-list';

/*
 * An API app of the torture run, in its own process: Express on 127.0.0.1, `@QueueLimited`
 * routes (each with a twin that waits for its slot), and the ledger. With `broken`, its gate
 * checks and adds in two steps.
 */

const { settings, label } = childArgs();
const ledger = new LedgerWriter(settings.ledgerDir, label);
const streams = new Holdings();
const work = pushClient(settings.redisUrl);
work.on('error', () => undefined); // reconnects by itself; every failed push answers 503

const setup = gateSetup(settings, label, settings.broken);

@Module({
  imports: [EventEmitterModule.forRoot(), QueueGateModule.forRoot(setup.options)],
  controllers: [TasksController, WaitingTasksController, StreamController, WaitingStreamController],
  providers: [
    { provide: LEDGER, useValue: ledger },
    { provide: PUSH_CLIENT, useValue: work },
  ],
})
class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(watchStream).forRoutes('stream', 'waiting-stream');
  }
}

/** Runs before the gate's guard: see {@link StreamState}. */
function watchStream(request: Emitter, response: Emitter, next: () => void): void {
  const state = new StreamState(ledger, streams);
  (request as unknown as Record<typeof STREAM_STATE, StreamState>)[STREAM_STATE] = state;
  state.watch(request, response);
  next();
}

interface Emitter {
  once(event: string, listener: () => void): unknown;
}

async function main(): Promise<void> {
  const app = await NestFactory.create(ApiModule, {
    logger: ['error', 'warn'],
    forceCloseConnections: true,
  });
  await app.listen(0, '127.0.0.1');
  const stopProbe = probeLeases(app.get(QueueGateService), streams, ledger, 1_000);
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'stop') return;
    stopProbe();
    void app
      .close()
      .then(() => Promise.all([work.quit(), setup.ownClient?.quit()]))
      .finally(() => process.exit(0));
  });
  send({ type: 'ready', port });
}

// Without the parent nobody checks this process: leave.
process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  send({ type: 'failed', error: String(error) });
  process.exit(1);
});
