import 'reflect-metadata';
import { startRedisServer } from '../../test/support/redis-server';
import { renderHttp, renderTargets } from '../report/render';
import { httpTargets } from '../report/targets';
import { progress } from '../support/progress';
import { measureHttp } from './http';

/**
 * The HTTP section alone, on a private redis-server of its own, printing its part of the report
 * and its targets: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/sections/http-main.js`.
 * About 2 minutes, for work on the section itself.
 */
async function main(): Promise<void> {
  const server = await startRedisServer();
  try {
    const runs = await measureHttp(server.url);
    process.stdout.write(`${renderHttp(runs)}\n\n${renderTargets(httpTargets(runs))}\n`);
  } finally {
    await server.stop();
  }
  progress('http: done');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
