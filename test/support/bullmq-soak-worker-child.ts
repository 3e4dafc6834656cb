import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Job, UnrecoverableError } from 'bullmq';
import { QueueGateBullModule } from '../../src/bullmq/queue-gate-bull.module';
import { QueueGateModule } from '../../src/nest/queue-gate.module';
import {
  emptyStats,
  soakConfig,
  type SoakChildMessage,
  type SoakParentMessage,
} from './bullmq-soak-protocol';

/*
 * A "worker" instance of the BullMQ soak test, run in its own process through the bootstrap of
 * strictness-register.ts: a Nest application context with QueueGateModule, BullModule, a
 * @Processor of the queue and QueueGateBullModule following it. Each attempt takes 50-300 ms
 * and ends at random: success, a plain Error (retried when an attempt is left, else final) or
 * an UnrecoverableError. The processor never touches the gate: the integration does.
 */

const config = soakConfig();
const stats = emptyStats();
const url = new URL(config.redisUrl);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(message: SoakChildMessage): void {
  process.send?.(message);
}

@Processor(config.queue, { concurrency: 4 })
class SoakProcessor extends WorkerHost {
  async process(job: Job): Promise<string> {
    stats.admitted++;
    await sleep(50 + Math.random() * 250);
    const draw = Math.random();
    if (draw < 0.6) {
      stats.succeeded++;
      return `done ${job.id}`;
    }
    if (draw < 0.88) {
      stats.threw++;
      throw new Error('soak failure');
    }
    stats.unrecoverable++;
    throw new UnrecoverableError('soak unrecoverable');
  }
}

@Module({
  imports: [
    QueueGateModule.forRoot({
      isGlobal: true,
      redis: { url: config.redisUrl },
      keyPrefix: config.gatePrefix,
      limits: { [config.model]: config.limit },
      commandTimeoutMs: 10_000,
      doctor: false,
    }),
    BullModule.forRoot({
      connection: { host: url.hostname, port: Number(url.port) },
      prefix: config.bullPrefix,
    }),
    BullModule.registerQueue({ name: config.queue }),
    QueueGateBullModule.forRoot({ queues: [config.queue] }),
  ],
  providers: [SoakProcessor],
})
class SoakWorkerModule {}

let app: INestApplicationContext | undefined;

async function main(): Promise<void> {
  app = await NestFactory.createApplicationContext(SoakWorkerModule, {
    logger: ['error', 'warn'],
  });
  await app.get(SoakProcessor).worker.waitUntilReady();
  send({ type: 'ready' });
}

process.on('message', (message: SoakParentMessage) => {
  if (message.type !== 'stop') return;
  const closing = app?.close() ?? Promise.resolve();
  closing.then(
    () => {
      send({ type: 'stopped', stats });
      process.disconnect();
    },
    (error: unknown) => {
      send({ type: 'failed', error: String(error) });
      process.exit(1);
    },
  );
});

main().catch((error: unknown) => {
  send({ type: 'failed', error: String(error) });
  process.exit(1);
});
