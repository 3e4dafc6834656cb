import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { gateJob } from '../../src/bullmq/gate-job';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import {
  emptyStats,
  soakConfig,
  type SoakChildMessage,
  type SoakParentMessage,
} from './bullmq-soak-protocol';

/*
 * An "API" instance of the BullMQ soak test, run in its own process through the bootstrap of
 * strictness-register.ts. Until told to stop it loops: acquire a slot of the gate; when admitted,
 * add one job for it with gateJob (the job id is the slot's task id); when refused, wait a
 * little. An admission is always followed by its job, even when the stop comes in between.
 */

const config = soakConfig();
const stats = emptyStats();
let stopping = false;

function send(message: SoakChildMessage): void {
  process.send?.(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const gate = new QueueGate(new RedisGateStore(client, config.gatePrefix), {
    limits: { [config.model]: config.limit },
    commandTimeoutMs: 10_000,
  });
  const url = new URL(config.redisUrl);
  const queue = new Queue(config.queue, {
    connection: { host: url.hostname, port: Number(url.port) },
    prefix: config.bullPrefix,
  });
  await queue.waitUntilReady();
  send({ type: 'ready' });

  while (!stopping) {
    try {
      const slot = await gate.acquire(config.model);
      if (!slot.acquired) {
        stats.refused++;
        await sleep(5 + Math.random() * 20);
        continue;
      }
      stats.admitted++;
      const { data, opts } = gateJob(slot, { n: stats.admitted }, { attempts: 2, backoff: 100 });
      await queue.add('soak', data, opts);
    } catch (error) {
      stats.errors++;
      stats.lastError = String(error);
      await sleep(50);
    }
  }

  await queue.close();
  await gate.close(1_000);
  await client.quit().catch(() => client.disconnect());
  send({ type: 'stopped', stats });
  process.disconnect();
}

process.on('message', (message: SoakParentMessage) => {
  if (message.type === 'stop') stopping = true;
});

main().catch((error: unknown) => {
  send({ type: 'failed', error: String(error) });
  process.exit(1);
});
