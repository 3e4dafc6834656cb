import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { BenchAppModule } from './bench-app.module';
import { type AppMessage, PLATFORM_ENV, type Platform, REDIS_URL_ENV, STOP } from './protocol';

/**
 * Entry of the app under HTTP load. It runs in its own process so that autocannon, in the
 * parent, does not share its event loop. The platform (Express or Fastify) comes from
 * BENCH_HTTP_PLATFORM; the app is the same on both.
 */
async function main(): Promise<void> {
  const redisUrl = process.env[REDIS_URL_ENV];
  if (!redisUrl) throw new Error(`${REDIS_URL_ENV} is not set`);
  const app = await create(redisUrl, (process.env[PLATFORM_ENV] ?? 'express') as Platform);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.on('message', (message) => {
    if (message !== STOP) return;
    void app.close().finally(() => process.exit(0));
  });
  send({ listening: port });
}

function create(redisUrl: string, platform: Platform): Promise<INestApplication> {
  const module = BenchAppModule.on(redisUrl);
  switch (platform) {
    case 'express':
      return NestFactory.create(module, new ExpressAdapter(), { logger: false });
    case 'fastify':
      return NestFactory.create(module, new FastifyAdapter(), { logger: false });
    default:
      throw new Error(`unknown HTTP platform "${String(platform)}"`);
  }
}

function send(message: AppMessage): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  send({ failed: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
