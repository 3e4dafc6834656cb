import 'reflect-metadata';
import { startRedisServer } from '../../test/support/redis-server';
import { renderScaleOut } from '../scale-out/report';
import { progress } from '../support/progress';
import { measureScaleOut } from './scale-out';

/**
 * The scale-out section alone, on a private redis-server and Cluster of its own, printing its
 * part of the report: `npx tsc -p tsconfig.bench.json && node
 * dist-bench/bench/sections/scale-out-main.js`. About 50 s, for work on the section itself.
 */
async function main(): Promise<void> {
  const server = await startRedisServer();
  try {
    const result = await measureScaleOut(server.url);
    process.stdout.write(`${renderScaleOut(result)}\n`);
  } finally {
    await server.stop();
  }
  progress('scale-out: done');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
