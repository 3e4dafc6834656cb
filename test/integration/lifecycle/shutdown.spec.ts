import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { concat, NEVER, type Observable, of } from 'rxjs';
import { GateSlot, type GateSlotInfo, QueueLimited } from '../../../src';
import { type EventStream, isEventStream, openEventStream } from '../../support/http-app';
import { closeClient, newRedis, testRedisUrl, uniquePrefix } from '../../support/test-redis';
import { dropPrefix, eventually, type GateApp, membersOf, startGateApp } from './lifecycle-apps';

/** A stream of LLM tokens that never ends by itself: only the client or the shutdown ends it. */
@Controller('chat')
class ChatController {
  @Sse('tokens')
  @QueueLimited('chat', { limit: 2, release: 'response' })
  tokens(@GateSlot() slot: GateSlotInfo): Observable<MessageEvent> {
    return concat(of({ type: 'slot', data: slot }), NEVER);
  }
}

async function openStream(app: GateApp): Promise<{ stream: EventStream; taskId: string }> {
  const opened = await openEventStream(`${app.url}/chat/tokens`);
  if (!isEventStream(opened)) throw new Error(`stream refused: ${opened.status} ${opened.text}`);
  const first = await opened.next();
  expect(first?.type).toBe('slot');
  return { stream: opened, taskId: (first!.data as GateSlotInfo).taskId };
}

/** The names of the connections the test Redis has open. */
async function connectionNames(): Promise<string[]> {
  const client = newRedis();
  try {
    const list = (await client.client('LIST')) as string;
    return [...list.matchAll(/ name=(\S*)/g)].map((match) => match[1]);
  } finally {
    await closeClient(client);
  }
}

/**
 * Starts closing the app while a stream is connected and waits until the stream's slot is gone
 * from Redis. The app listens without forceCloseConnections and the client never leaves, so
 * only the shutdown itself can have ended the stream and released its slot. Then lets the
 * client go and finishes.
 */
async function closeWhileStreaming(app: GateApp, keyPrefix: string): Promise<void> {
  const { stream, taskId } = await openStream(app);
  expect(await membersOf(keyPrefix, 'chat')).toEqual([taskId]);

  const closing = app.close();
  try {
    await eventually(async () => expect(await membersOf(keyPrefix, 'chat')).toEqual([]));
    // The shutdown ended the stream (before its slot went back: test/e2e/shutdown-streams).
    await expect(stream.rest().catch(() => 'broken')).resolves.toBeDefined();
  } finally {
    stream.disconnect();
    await closing;
  }
}

describe('shutdown', () => {
  it('releases the slot of a streaming request, then closes the client the module opened', async () => {
    const keyPrefix = uniquePrefix('lifecycle-shutdown-owned');
    const connectionName = `qgate-owned-${randomUUID().slice(0, 8)}`;
    const app = await startGateApp({
      keyPrefix,
      http: true,
      controllers: [ChatController],
      gate: { redis: { url: testRedisUrl(), options: { connectionName } } },
    });
    try {
      expect(await connectionNames()).toContain(connectionName);

      await closeWhileStreaming(app, keyPrefix);

      await eventually(async () => expect(await connectionNames()).not.toContain(connectionName));
    } finally {
      await app.close();
      await dropPrefix(keyPrefix);
    }
  });

  it('releases the slot of a streaming request and leaves a client it was given open', async () => {
    const keyPrefix = uniquePrefix('lifecycle-shutdown-given');
    const client: Redis = newRedis();
    try {
      const app = await startGateApp({
        keyPrefix,
        http: true,
        controllers: [ChatController],
        gate: { redis: { client } },
      });
      try {
        await closeWhileStreaming(app, keyPrefix);
      } finally {
        await app.close();
      }

      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      await closeClient(client);
      await dropPrefix(keyPrefix);
    }
  });
});
