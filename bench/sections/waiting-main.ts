import 'reflect-metadata';
import { startRedisServer } from '../../test/support/redis-server';
import { renderTargets } from '../report/render';
import { waitingTargets } from '../report/targets';
import { progress } from '../support/progress';
import { connect, disconnect } from '../support/redis-client';
import { renderWaiting } from '../waiting/report';
import { measureWaiting } from './waiting';

/**
 * The waiting section alone, on a private redis-server of its own, printing its part of the
 * report and its targets: `npx tsc -p tsconfig.bench.json && node
 * dist-bench/bench/sections/waiting-main.js`. About 25 s, for work on the section itself.
 */
async function main(): Promise<void> {
  const server = await startRedisServer();
  const stats = await connect(server.url);
  try {
    const waiting = await measureWaiting(server.url, stats);
    process.stdout.write(
      `${renderWaiting(waiting)}\n\n${renderTargets(waitingTargets(waiting))}\n`,
    );
  } finally {
    await disconnect(stats);
    await server.stop();
  }
  progress('waiting: done');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
