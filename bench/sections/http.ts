import autocannon from 'autocannon';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { BENCH } from '../config';
import {
  type AppMessage,
  PLATFORM_ENV,
  PLATFORMS,
  type Platform,
  REDIS_URL_ENV,
  STOP,
} from '../http/protocol';
import { progress } from '../support/progress';
import { percentileOfSorted, rotate } from '../support/stats';

/**
 * The routes compared: `throttled` is `@nestjs/throttler` with its Redis storage, the usual
 * Redis-backed guard of a Nest route; `noop` is the reference of a do-nothing guard and
 * interceptor.
 */
export const ROUTES = ['plain', 'gated', 'throttled', 'noop'] as const;
export type Route = (typeof ROUTES)[number];

export { PLATFORMS, type Platform } from '../http/protocol';

/** One autocannon run against one route of one platform's app. */
export interface HttpRun {
  platform: Platform;
  route: Route;
  round: number;
  /** 2xx answers per second. */
  requestsPerSecond: number;
  /** Latency of the 2xx answers, from autocannon's own per-response timing (µs resolution). */
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/**
 * Section 3: autocannon against `GET /gated` (`@QueueLimited`, `release: 'response'`),
 * `GET /plain`, `GET /throttled` and `GET /noop` of one app, in a rotated order each round;
 * the same app on Express, then on Fastify, each in a process of its own.
 */
export async function measureHttp(redisUrl: string): Promise<HttpRun[]> {
  const runs: HttpRun[] = [];
  for (const platform of PLATFORMS) runs.push(...(await measurePlatform(redisUrl, platform)));
  return runs;
}

async function measurePlatform(redisUrl: string, platform: Platform): Promise<HttpRun[]> {
  progress(`http: starting the app on ${platform}`);
  const { child, port } = await startApp(redisUrl, platform);
  try {
    const url = (route: Route) => `http://127.0.0.1:${port}/${route}`;
    progress(`http: ${platform}: warming up`);
    for (const route of ROUTES) await cannon(url(route), 1);
    const runs: HttpRun[] = [];
    const { rounds, seconds } = BENCH.http;
    for (let round = 0; round < rounds; round++) {
      progress(`http: ${platform}: round ${round + 1} of ${rounds}`);
      for (const route of rotate(ROUTES, round)) {
        const { result, latenciesMs } = await cannon(url(route), seconds);
        runs.push({
          platform,
          route,
          round,
          requestsPerSecond: result['2xx'] / result.duration,
          p50Ms: percentileOfSorted(latenciesMs, 50),
          p99Ms: percentileOfSorted(latenciesMs, 99),
          non2xx: result.non2xx,
          errors: result.errors,
        });
      }
    }
    return runs;
  } finally {
    await stopApp(child);
  }
}

/**
 * One autocannon run. Its own percentiles are whole ms; the latency of every 2xx answer is
 * also taken from its `response` event (hrtime, fractions of a ms), so that the ms a guard
 * adds per request can be told apart.
 */
function cannon(
  url: string,
  seconds: number,
): Promise<{ result: autocannon.Result; latenciesMs: Float64Array }> {
  const samples: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: BENCH.http.connections, duration: seconds },
      (error, result) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve({ result, latenciesMs: Float64Array.from(samples).sort() });
      },
    );
    instance.on('response', (_client, statusCode: number, _bytes, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTimeMs);
    });
  });
}

function startApp(
  redisUrl: string,
  platform: Platform,
): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, '..', 'http', 'app-main.js'), {
    env: { ...process.env, [REDIS_URL_ENV]: redisUrl, [PLATFORM_ENV]: platform },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the HTTP app exited with code ${code}`)));
    child.on('message', (message: AppMessage) => {
      if ('listening' in message) resolve({ child, port: message.listening });
      else reject(new Error(`the HTTP app failed to start: ${message.failed}`));
    });
  });
}

async function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send(STOP);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
