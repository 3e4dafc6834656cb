import { Redis } from 'ioredis';
import { serveFleetJobs } from './fleet-child';
import { AcquireAbortedError } from '../../src/core/errors/acquire-aborted.error';
import type { AcquireRequest, GateStore } from '../../src/core/gate-store';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import {
  sequenceKey,
  type CompoundGateKind,
  type CompoundJob,
  type CompoundResult,
} from './compound-protocol';

/*
 * One application instance of the compound strictness test, run in its own process through the
 * bootstrap of strictness-register.ts. Its workers take random tasks (a tenant or none, a cost,
 * waiting or not) through a QueueGate, note each admission in the ledger and hold it a few ms.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/**
 * The negative controls: the real store, except that acquire passes every task as cost 1 (the
 * store then lets in up to `limit` holders whatever they weigh) or without its tenant's share.
 * Releases and heartbeats go to the real store on the same keys.
 */
function storeFor(kind: CompoundGateKind, real: RedisGateStore): GateStore {
  if (kind === 'strict') return real;
  const acquire = (request: AcquireRequest) =>
    real.acquire(
      kind === 'ignores-cost' ? { ...request, cost: 1 } : { ...request, perTenant: null },
    );
  return new Proxy(real, {
    get: (target, property, receiver) =>
      property === 'acquire' ? acquire : Reflect.get(target, property, receiver),
  });
}

async function run(job: CompoundJob): Promise<CompoundResult> {
  const client = new Redis(job.redisUrl, { maxRetriesPerRequest: 1 });
  const ledger = new Redis(job.redisUrl, { maxRetriesPerRequest: 1 });
  const gate = new QueueGate(storeFor(job.gate, new RedisGateStore(client, job.prefix)), {
    limits: { [job.model]: { limit: job.limit, perTenant: job.perTenant } },
    // Generous: a slow answer on a loaded machine is not what this test measures.
    commandTimeoutMs: 15_000,
  });
  const result: CompoundResult = {
    entries: [],
    admittedWaiting: 0,
    refusedByModel: 0,
    refusedByTenant: 0,
    aborted: 0,
    errors: 0,
  };
  const end = Date.now() + job.durationMs;
  const sequence = sequenceKey(job.prefix);

  const worker = async () => {
    while (Date.now() < end) {
      // A quarter of the tasks have no tenant; a tenant's task fits its share (cost ≤ perTenant).
      const tenant =
        Math.random() < 0.25 ? undefined : job.tenants[randomInt(0, job.tenants.length - 1)];
      const cost = randomInt(1, tenant === undefined ? 3 : Math.min(3, job.perTenant));
      const waits = Math.random() < job.waitShare;
      const waitMs = waits ? randomInt(10, 250) : 0;
      // Some waiting calls are aborted before their wait runs out, possibly once admitted.
      const signal =
        waits && Math.random() < 0.15 ? AbortSignal.timeout(randomInt(5, 150)) : undefined;
      let acquired;
      try {
        acquired = await gate.acquire(job.model, { tenant, cost, waitMs, signal });
      } catch (error) {
        if (error instanceof AcquireAbortedError) {
          result.aborted++;
        } else {
          result.errors++;
          result.lastError = String(error);
          await sleep(5);
        }
        continue;
      }
      if (!acquired.acquired) {
        if (acquired.refusedBy === 'tenant') result.refusedByTenant++;
        else result.refusedByModel++;
        // A short, jittered pause keeps the gate under pressure without a busy loop.
        if (!waits) await sleep(Math.random() * 2);
        continue;
      }
      if (waits) result.admittedWaiting++;
      try {
        const start = await ledger.incr(sequence);
        await sleep(1 + Math.random() * job.holdMs);
        const ended = await ledger.incr(sequence);
        result.entries.push({ cost, tenant: tenant ?? null, start, end: ended });
      } finally {
        await gate
          .release(job.model, acquired.taskId, { token: acquired.token! })
          .catch((error) => {
            result.errors++;
            result.lastError = String(error);
          });
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: job.workers }, worker));
    return result;
  } finally {
    await gate.close(5_000);
    await client.quit();
    await ledger.quit();
  }
}

serveFleetJobs(run);
