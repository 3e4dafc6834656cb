import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { BenchAppModule } from './bench-app.module';
import { type AppMessage, REDIS_URL_ENV, STOP } from './protocol';

/**
 * Entry of the app under HTTP load. It runs in its own process so that autocannon, in the
 * parent, does not share its event loop.
 */
async function main(): Promise<void> {
  const redisUrl = process.env[REDIS_URL_ENV];
  if (!redisUrl) throw new Error(`${REDIS_URL_ENV} is not set`);
  const app = await NestFactory.create(BenchAppModule.on(redisUrl), new ExpressAdapter(), {
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.on('message', (message) => {
    if (message !== STOP) return;
    void app.close().finally(() => process.exit(0));
  });
  send({ listening: port });
}

function send(message: AppMessage): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  send({ failed: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
