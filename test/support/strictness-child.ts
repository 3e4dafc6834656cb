import { Cluster, Redis } from 'ioredis';
import { gateKey } from '../../src/store/redis/gate-key';
import { checkGate } from './strictness-checker';
import { serveFleetJobs } from './fleet-child';
import { naiveGate, strictGate } from './strictness-gates';
import { counterKey, type StrictnessJob, type StrictnessResult } from './strictness-protocol';

/*
 * One application instance of the strictness test, run in its own process through the bootstrap
 * of strictness-register.ts, which lets it run the TypeScript sources. It waits for a job, runs
 * the checker with its own Redis connection, and reports what it saw.
 */

async function run(job: StrictnessJob): Promise<StrictnessResult> {
  const client = job.cluster
    ? new Cluster(job.cluster, { redisOptions: { maxRetriesPerRequest: 1 } })
    : new Redis(job.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const gate =
      job.gate === 'strict'
        ? strictGate(client, job.prefix, job.model, job.limit)
        : naiveGate(client, gateKey(job.prefix, job.model), job.limit);
    return await checkGate(gate, client, counterKey(job.prefix), job);
  } finally {
    await client.quit();
  }
}

serveFleetJobs(run);
