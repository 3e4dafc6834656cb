import autocannon from 'autocannon';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { BENCH } from '../config';
import { type AppMessage, REDIS_URL_ENV, STOP } from '../http/protocol';
import { progress } from '../support/progress';
import { rotate } from '../support/stats';

/** The routes compared; `noop` is the reference of a do-nothing guard and interceptor. */
export const ROUTES = ['plain', 'gated', 'noop'] as const;
export type Route = (typeof ROUTES)[number];

/** One autocannon run against one route. */
export interface HttpRun {
  route: Route;
  round: number;
  /** 2xx answers per second. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/**
 * Section 3: autocannon against `GET /gated` (`@QueueLimited`, `release: 'response'`),
 * `GET /plain` and `GET /noop` of one Express app, in a rotated order each round.
 */
export async function measureHttp(redisUrl: string): Promise<HttpRun[]> {
  progress('http: starting the app');
  const { child, port } = await startApp(redisUrl);
  try {
    const url = (route: Route) => `http://127.0.0.1:${port}/${route}`;
    progress('http: warming up');
    for (const route of ROUTES) await cannon(url(route), 1);
    const runs: HttpRun[] = [];
    for (let round = 0; round < BENCH.rounds; round++) {
      progress(`http: round ${round + 1} of ${BENCH.rounds}`);
      for (const route of rotate(ROUTES, round)) {
        const result = await cannon(url(route), BENCH.http.seconds);
        runs.push({
          route,
          round,
          requestsPerSecond: result['2xx'] / result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
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

function cannon(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: BENCH.http.connections, duration: seconds });
}

function startApp(redisUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, '..', 'http', 'app-main.js'), {
    env: { ...process.env, [REDIS_URL_ENV]: redisUrl },
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
