import type { INestApplicationContext, Provider, Type } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { QueueGateModule, type QueueGateModuleOptions, QueueGateService } from '../../../src';
import { CapturedLogger } from '../../support/http-app';
import { closeClient, dropKeys, newRedis, testRedisUrl } from '../../support/test-redis';
import { eventually, sleep } from '../../support/eventually';

export { eventually, sleep };

/** What {@link startGateApp} builds. */
export interface GateAppOptions {
  /** Shared by every app of one test that must see the same gates. */
  keyPrefix: string;
  /** Module options; the Redis store at `redisUrl` unless they name another store. */
  gate?: Omit<QueueGateModuleOptions, 'keyPrefix'>;
  /** Redis of the gate; the run's shared test Redis by default. */
  redisUrl?: string;
  /** Import `EventEmitterModule.forRoot()`, as an application with lifecycle events does. */
  events?: boolean;
  controllers?: Type[];
  providers?: Provider[];
  /**
   * Listen over HTTP (Express, port 0). Without it the app is a worker: the Nest context and
   * its lifecycle hooks, no server.
   */
  http?: boolean;
  /**
   * Close open HTTP connections on close. Off by default, so that a test can see what the app
   * does at shutdown while a stream is still connected.
   */
  forceCloseConnections?: boolean;
}

/** A running Nest application (or worker context) with its gate. */
export interface GateApp {
  readonly app: INestApplicationContext;
  readonly gate: QueueGateService;
  /** The app's EventEmitter2 when `events` was asked for. */
  readonly emitter: EventEmitter2;
  readonly logger: CapturedLogger;
  /** Base URL when listening over HTTP, without a trailing slash. */
  readonly url: string;
  /** Closes the app (shutdown hooks included). Idempotent. */
  close(): Promise<void>;
}

/** Builds and starts an app; close it with {@link GateApp.close}, then {@link dropPrefix}. */
export async function startGateApp(options: GateAppOptions): Promise<GateApp> {
  const logger = new CapturedLogger();
  const gateOptions: QueueGateModuleOptions = {
    ...(options.gate?.store || options.gate?.redis
      ? {}
      : { redis: { url: options.redisUrl ?? testRedisUrl() } }),
    ...options.gate,
    keyPrefix: options.keyPrefix,
  };
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(options.events ? [EventEmitterModule.forRoot()] : []),
      QueueGateModule.forRoot(gateOptions),
    ],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  })
    .setLogger(logger)
    .compile();

  let app: INestApplicationContext = moduleRef;
  let url = '';
  if (options.http) {
    const web = moduleRef.createNestApplication(new ExpressAdapter(), {
      logger,
      forceCloseConnections: options.forceCloseConnections ?? false,
    });
    app = web;
    try {
      await web.listen(0, '127.0.0.1');
    } catch (error) {
      await web.close();
      throw error;
    }
    url = `http://127.0.0.1:${(web.getHttpServer().address() as AddressInfo).port}`;
  } else {
    await moduleRef.init();
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    gate: app.get(QueueGateService),
    emitter: options.events ? app.get(EventEmitter2) : (undefined as unknown as EventEmitter2),
    logger,
    url,
    close: () => (closing ??= app.close()),
  };
}

/** Deletes the keys under `prefix`, and only those: the test Redis is shared. */
export async function dropPrefix(prefix: string, redisUrl = testRedisUrl()): Promise<void> {
  const client = newRedis(redisUrl);
  try {
    await dropKeys(client, prefix);
  } finally {
    await closeClient(client);
  }
}

/** The members of a gate's sorted set, read with a separate client. */
export async function membersOf(
  keyPrefix: string,
  model: string,
  redisUrl = testRedisUrl(),
): Promise<string[]> {
  const client = newRedis(redisUrl);
  try {
    return (await client.zrange(`${keyPrefix}{${model}}`, 0, -1)).sort();
  } finally {
    await closeClient(client);
  }
}
