import 'reflect-metadata';
import type { Cluster, Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueGate, RedisGateStore } from '../../src';
import { connectCluster } from '../../test/support/redis-cluster';
import { BENCH } from '../config';
import { connect, disconnect } from '../support/redis-client';
import { sharedNow } from '../waiting/clock';
import { serveWorkerJob, type WorkerChannel } from '../support/forked-worker';
import type { ScaleOutJob, ScaleOutReport, ScaleOutSchedule } from './protocol';

/**
 * Entry of one application process of the scale-out section: one connection (a plain client,
 * or an ioredis Cluster client), one `QueueGate` over `RedisGateStore`, and `callers` closed
 * loops of acquire and fenced release, each going round the gates in turn.
 */
async function main(
  job: ScaleOutJob,
  channel: WorkerChannel<ScaleOutSchedule, ScaleOutReport>,
): Promise<void> {
  const client: Redis | Cluster =
    'redisUrl' in job.target
      ? await connect(job.target.redisUrl)
      : await connectCluster({ startupNodes: job.target.clusterNodes });
  const gate = new QueueGate(new RedisGateStore(client), {
    defaultLimit: BENCH.uncontendedLimit,
    lease: { minSeconds: BENCH.leaseMs / 1000 },
  });
  try {
    const schedule = await channel.ready();
    await channel.done(await runCallers(gate, job, schedule));
  } finally {
    await gate.close();
    if ('redisUrl' in job.target) await disconnect(client as Redis);
    else await client.quit().catch(() => client.disconnect());
  }
}

async function runCallers(
  gate: QueueGate,
  job: ScaleOutJob,
  schedule: ScaleOutSchedule,
): Promise<ScaleOutReport> {
  await sleep(Math.max(0, schedule.startsAt - sharedNow()));
  const report: ScaleOutReport = { admissions: 0, refused: 0 };
  const inWindow = (at: number) => at >= schedule.measureFrom && at < schedule.endsAt;
  const caller = async (index: number) => {
    let next = job.firstGate + index;
    while (sharedNow() < schedule.endsAt) {
      const model = `${job.gatePrefix}${next++ % job.gates}`;
      const slot = await gate.acquire(model);
      if (!slot.acquired) {
        if (inWindow(sharedNow())) report.refused++;
        continue;
      }
      await gate.release(model, slot.taskId, { token: slot.token! });
      if (inWindow(sharedNow())) report.admissions++;
    }
  };
  await Promise.all(Array.from({ length: job.callers }, (_, index) => caller(index)));
  return report;
}

serveWorkerJob(main);
