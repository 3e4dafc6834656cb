import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { QueueGateModule, QueueGateService } from '../../src';
import { WORKER_CONCURRENCY } from './config';
import { gateSetup } from './gate-options';
import { Holdings, probeLeases } from './holdings';
import { LedgerWriter } from './ledger';
import { streamOf } from './prng';
import { childArgs, type ParentMessage, send } from './protocol';
import { type RunnerContext, runTask } from './task-runner';
import { popClient, popWork, pushClient, pushWork } from './work-list';

/*
 * A worker of the torture run, in its own process: a Nest application context with the gate and
 * its lifecycle listener, popping tasks from the work list and running up to
 * WORKER_CONCURRENCY of them at once. The parent SIGKILLs it now and then and starts another.
 */

const { settings, label } = childArgs();
const setup = gateSetup(settings, label, false);

@Module({
  imports: [EventEmitterModule.forRoot(), QueueGateModule.forRoot(setup.options)],
})
class WorkerModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: ['error', 'warn'],
  });
  const gate = app.get(QueueGateService);
  const holdings = new Holdings();
  const ledger = new LedgerWriter(settings.ledgerDir, label);
  const work = popClient(settings.redisUrl);
  const handOver = pushClient(settings.redisUrl);
  // Both reconnect by themselves; a failed call is handled where it is made.
  work.on('error', () => undefined);
  handOver.on('error', () => undefined);
  const context: RunnerContext = {
    gate,
    events: app.get(EventEmitter2),
    ledger,
    holdings,
    rng: streamOf(settings.seed, label),
    handOff: (item) =>
      pushWork(handOver, item).then(
        () => true,
        () => false,
      ),
  };
  const stopProbe = probeLeases(gate, holdings, ledger, 1_000);
  let active = 0;
  let stopping = false;

  const popLoop = async () => {
    while (!stopping) {
      if (active >= WORKER_CONCURRENCY) {
        await sleep(20);
        continue;
      }
      let item;
      try {
        item = await popWork(work, 1);
      } catch {
        await sleep(100); // connection killed or Redis restarting
        continue;
      }
      if (!item || stopping) continue;
      active++;
      void runTask(context, item)
        .catch((error) =>
          console.error(`${label}: task ${item.taskId} failed to run: ${String(error)}`),
        )
        .finally(() => active--);
    }
  };

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'status') send({ type: 'status', running: active });
    if (message.type !== 'stop') return;
    stopping = true;
    stopProbe();
    work.disconnect();
    handOver.disconnect();
    void app
      .close()
      .then(() => setup.ownClient?.quit())
      .finally(() => process.exit(0));
  });
  send({ type: 'ready' });
  await popLoop();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Without the parent nobody checks this process: leave.
process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  send({ type: 'failed', error: String(error) });
  process.exit(1);
});
