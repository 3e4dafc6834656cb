import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { DemoModule } from '../../demo/demo.module';
import { DEMO_LIMITS, type DemoSettings } from '../../demo/demo.settings';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from './test-redis';

/** The demo gateway as `npm start` runs it, on the test Redis under a key prefix of its own. */
export interface DemoApp {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** Submits a task for `model`, as a client of the gateway would. */
  post(model: string): Promise<Response>;
  /** Closes the app and deletes the keys it made. */
  close(): Promise<void>;
}

/** Boots the demo on a free port with tasks that take `taskMs` and all succeed. */
export async function startDemoApp(label: string, taskMs: [number, number]): Promise<DemoApp> {
  const keyPrefix = uniquePrefix(label);
  const settings: DemoSettings = {
    redisUrl: testRedisUrl(),
    keyPrefix,
    limits: DEMO_LIMITS,
    taskMs,
    failureRate: 0,
    maxAttempts: 1,
    pollMs: 50,
  };
  const app: INestApplication = await NestFactory.create(DemoModule.forRoot(settings), {
    logger: false,
    // An open live-page stream would otherwise hold the server's close.
    forceCloseConnections: true,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    post: (model) =>
      fetch(`${base}/v1/models/${model}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a lighthouse at dusk' }),
      }),
    async close() {
      await app.close();
      const redis = newRedis();
      await dropKeys(redis, keyPrefix);
      await closeClient(redis);
    },
  };
}
