import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Queue } from 'bullmq';
import { QueueGateModule, QueueGateService } from '../../src';
import { QueueGateBullModule } from '../../src/bullmq';
import { CapturedLogger } from './captured-logger';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from './test-redis';

/** The key prefixes of one spec: the gate's, and BullMQ's under it (so one clean-up drops both). */
export interface BullmqPrefixes {
  prefix: string;
  bullPrefix: string;
}

/** Unique prefixes for a spec's gate and BullMQ keys on the run's Redis. */
export function bullmqPrefixes(label: string): BullmqPrefixes {
  const prefix = uniquePrefix(label);
  return { prefix, bullPrefix: `${prefix}bull` };
}

export interface BullmqAppOptions<P> extends BullmqPrefixes {
  /** The queue the processor works on, registered and followed by the gate. */
  queue: string;
  /** The model the helpers look at unless told otherwise. */
  model: string;
  limits: Record<string, number>;
  /** The spec's `@Processor` class on `queue`. */
  processor: Type<P>;
}

/** A Nest app with QueueGateModule, BullModule, the spec's `@Processor` and QueueGateBullModule. */
export interface BullmqApp<P> {
  app: INestApplicationContext;
  gate: QueueGateService;
  queue: Queue;
  processor: P;
  /** Whether the gate holds a slot of `model` for `taskId`. */
  held(taskId: string, model?: string): Promise<boolean>;
  /** The task ids holding slots of `model`, sorted. */
  holderIds(model?: string): Promise<string[]>;
}

/** Builds and starts the app on the run's Redis, under the given prefixes. */
export async function startBullmqApp<P>(options: BullmqAppOptions<P>): Promise<BullmqApp<P>> {
  const url = new URL(testRedisUrl());
  const app = await Test.createTestingModule({
    imports: [
      QueueGateModule.forRoot({
        isGlobal: true,
        redis: { url: testRedisUrl() },
        keyPrefix: options.prefix,
        limits: options.limits,
        doctor: false,
      }),
      BullModule.forRoot({
        connection: { host: url.hostname, port: Number(url.port) },
        prefix: options.bullPrefix,
      }),
      BullModule.registerQueue({ name: options.queue }),
      QueueGateBullModule.forRoot({ queues: [options.queue] }),
    ],
    providers: [options.processor],
  })
    .setLogger(new CapturedLogger())
    .compile();
  await app.init();
  const gate = app.get(QueueGateService);
  return {
    app,
    gate,
    queue: app.get<Queue>(getQueueToken(options.queue)),
    processor: app.get(options.processor),
    async held(taskId, model = options.model) {
      return (await gate.holders(model)).some((holder) => holder.taskId === taskId);
    },
    async holderIds(model = options.model) {
      return (await gate.holders(model)).map((holder) => holder.taskId).sort();
    },
  };
}

/**
 * Closes the app (if it started), calling `whileClosing` every 20 ms until it has closed, then
 * drops the keys under `prefix`, and only those.
 */
export async function stopBullmqApp(
  app: INestApplicationContext | undefined,
  prefix: string,
  whileClosing?: () => void,
): Promise<void> {
  const ticking = whileClosing ? setInterval(whileClosing, 20) : undefined;
  try {
    await app?.close();
  } finally {
    if (ticking) clearInterval(ticking);
  }
  const client = newRedis();
  await dropKeys(client, prefix);
  await closeClient(client);
}
