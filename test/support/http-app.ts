import type { INestApplication, Provider, Type } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { QueueGateModule, QueueGateService, type QueueGateModuleOptions } from '../../src';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from './test-redis';
import { CapturedLogger, type LogLine } from './captured-logger';
import { eventually, sleep } from './eventually';

export { eventually, sleep };
export { CapturedLogger, type LogLine };

/** The HTTP platforms every e2e suite runs on. */
export type Platform = 'express' | 'fastify';
export const PLATFORMS: readonly Platform[] = ['express', 'fastify'];

/** What {@link startHttpApp} builds. */
export interface HttpAppOptions {
  controllers: Type[];
  providers?: Provider[];
  /** Module options on top of the Redis store at `redisUrl` and a fresh key prefix. */
  gate?: Omit<QueueGateModuleOptions, 'keyPrefix'>;
  /** Redis of the gate; the run's shared test Redis by default. */
  redisUrl?: string;
  /** Runs after the app is created and before it listens: global guards, pipes, ... */
  configure?: (app: INestApplication) => void;
  /**
   * Close open HTTP connections on close (default true). Off, a test can see what the app
   * does at shutdown while a client is still connected.
   */
  forceCloseConnections?: boolean;
}

/** A Nest application listening on a free local port, with its gate. */
export interface HttpApp {
  readonly platform: Platform;
  readonly app: INestApplication;
  /** Base URL, without a trailing slash. */
  readonly url: string;
  readonly keyPrefix: string;
  readonly gate: QueueGateService;
  readonly logger: CapturedLogger;
  /** Closes the Nest app (shutdown hooks, HTTP server) and keeps its keys. Idempotent. */
  closeApp(): Promise<void>;
  /** Closes the app, then deletes the keys under its prefix (and only those). */
  close(): Promise<void>;
}

/** Builds, starts and returns an app on `platform` backed by the real Redis store. */
export async function startHttpApp(platform: Platform, options: HttpAppOptions): Promise<HttpApp> {
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const keyPrefix = uniquePrefix(`e2e-${platform}`);
  const logger = new CapturedLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [QueueGateModule.forRoot({ redis: { url: redisUrl }, ...options.gate, keyPrefix })],
    controllers: options.controllers,
    providers: options.providers ?? [],
  })
    .setLogger(logger)
    .compile();
  // A client may leave a kept-alive connection open (fetch opens a spare one when a request is
  // aborted); close must not wait for the client to time it out.
  const forceCloseConnections = options.forceCloseConnections ?? true;
  const adapter =
    platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ forceCloseConnections });
  const app = moduleRef.createNestApplication(adapter, { logger, forceCloseConnections });
  options.configure?.(app);
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const closeApp = () => (closing ??= app.close());
  return {
    platform,
    app,
    url: `http://127.0.0.1:${port}`,
    keyPrefix,
    gate: app.get(QueueGateService),
    logger,
    closeApp,
    close: async () => {
      try {
        await closeApp();
      } finally {
        const client = newRedis(redisUrl);
        try {
          await dropKeys(client, keyPrefix);
        } finally {
          await closeClient(client);
        }
      }
    },
  };
}

/** A response read to its end. `json` is the parsed body when it is JSON. */
export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Sends a request and reads the whole response. A body is sent as JSON. */
export async function request(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = { ...options.headers };
  // Fastify refuses an empty body declared as JSON, so the type goes only with a body.
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  let json: unknown;
  if (response.headers.get('content-type')?.includes('application/json')) json = JSON.parse(text);
  return { status: response.status, headers: response.headers, text, json };
}

export const post = (url: string, body?: unknown, headers?: Record<string, string>) =>
  request('POST', url, { body, headers });

export const get = (url: string, headers?: Record<string, string>) =>
  request('GET', url, { headers });

/** One server-sent event: its `data` parsed as JSON when it is JSON. */
export interface ServerEvent {
  type?: string;
  data: any;
}

/** An open `text/event-stream` response, read event by event. */
export interface EventStream {
  readonly status: number;
  readonly headers: Headers;
  /** The next event, or undefined when the stream ended. */
  next(): Promise<ServerEvent | undefined>;
  /** Every event until the stream ends. */
  rest(): Promise<ServerEvent[]>;
  /** Drops the connection, as a client that goes away mid-stream. */
  disconnect(): void;
}

/**
 * Opens a stream. Resolves once the response head arrives; a refused stream (429) is returned
 * as a plain {@link HttpReply} instead.
 */
export async function openEventStream(url: string): Promise<EventStream | HttpReply> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('application/json')
      ? JSON.parse(text)
      : undefined;
    return { status: response.status, headers: response.headers, text, json };
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  const next = async (): Promise<ServerEvent | undefined> => {
    for (;;) {
      const match = /\r?\n\r?\n/.exec(buffer);
      if (match) {
        const block = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const event = parseEvent(block);
        if (event) return event;
        continue;
      }
      if (done) return undefined;
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  return {
    status: response.status,
    headers: response.headers,
    next,
    rest: async () => {
      const events: ServerEvent[] = [];
      for (let event = await next(); event; event = await next()) events.push(event);
      return events;
    },
    disconnect: () => controller.abort(),
  };
}

export function isEventStream(value: EventStream | HttpReply): value is EventStream {
  return 'next' in value;
}

function parseEvent(block: string): ServerEvent | undefined {
  let type: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  // Blocks without data are the stream's opening newline or keep-alive comments.
  if (data.length === 0) return undefined;
  const text = data.join('\n');
  try {
    return { type, data: JSON.parse(text) };
  } catch {
    return { type, data: text };
  }
}

/** The r= value of a `RateLimit` header, or undefined when absent. */
export function remaining(headers: Headers): number | undefined {
  const match = /;r=(\d+)/.exec(headers.get('ratelimit') ?? '');
  return match ? Number(match[1]) : undefined;
}
