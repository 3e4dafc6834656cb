import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { startRedisServer, type RedisServer } from '../test/support/redis-server';
import { renderReport } from './report/render';
import { measureDurability } from './sections/durability';
import { heldGates } from './sections/held-gates';
import { measureHttp } from './sections/http';
import { measureMemory } from './sections/memory';
import { measureScale } from './sections/scale';
import { measureScaleOut } from './sections/scale-out';
import { measureThroughput } from './sections/throughput';
import { measureWaiting } from './sections/waiting';
import { describeMachine, watchLoad } from './support/machine';
import { progress } from './support/progress';
import { saveRuns } from './support/save-runs';
import { connect, disconnect } from './support/redis-client';

/**
 * `npm run bench`: starts a private redis-server (never a shared one: the benchmark resets its
 * counters and fills gates with 100,000 holders), runs every section, prints the report.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const stopWatchingLoad = watchLoad();
  const server = await startRedisServer();
  stopOnInterrupt(server);
  progress(`redis-server on port ${server.port}`);
  const stats = await connect(server.url);
  const work = await connect(server.url);
  try {
    await stats.config('RESETSTAT');
    const machine = await describeMachine(stats);
    const throughput = await measureThroughput(server.url, stats);
    const gates = heldGates(work);
    const memory = await measureMemory(work, gates);
    const scale = await measureScale(stats, gates);
    await work.flushall();
    const http = await measureHttp(server.url);
    const waiting = await measureWaiting(server.url, stats);
    const durability = await measureDurability();
    await work.flushall();
    const scaleOut = await measureScaleOut(server.url);
    const wallSeconds = (performance.now() - started) / 1000;
    const results = {
      machine,
      load: stopWatchingLoad(),
      throughput,
      http,
      memory,
      scale,
      waiting,
      durability,
      scaleOut,
      wallSeconds,
    };
    process.stdout.write(`${renderReport(results)}\n`);
    progress(`every run saved to ${saveRuns(results)}`);
    progress(`done in ${Math.round(wallSeconds)} s`);
  } finally {
    await Promise.all([disconnect(stats), disconnect(work)]);
    await server.stop();
  }
}

/** The server is a child process: Ctrl-C must not leave it running on its own. */
function stopOnInterrupt(server: RedisServer): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server.stop().finally(() => process.exit(130));
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
