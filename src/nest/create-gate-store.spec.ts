import type { Redis } from 'ioredis';
import { createGateStore } from './create-gate-store';

/** The client the module opens itself (never connected here: it connects in onModuleInit). */
function ownedClient(options: Parameters<typeof createGateStore>[0]): Redis {
  const handle = createGateStore(options, []);
  const client = handle.ownedClient as Redis;
  expect(client).toBeDefined();
  return client;
}

describe('the client the module opens', () => {
  it('fails fast while disconnected and connects later, in onModuleInit', () => {
    const client = ownedClient({ redis: { url: 'redis://127.0.0.1:1' } });
    expect(client.options).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    expect(client.status).toBe('wait');
    client.disconnect();
  });

  it('lets redis.options override each default and add its own', () => {
    const client = ownedClient({
      redis: {
        url: 'redis://127.0.0.1:1',
        options: { maxRetriesPerRequest: 3, enableAutoPipelining: true },
      },
    });
    expect(client.options.maxRetriesPerRequest).toBe(3);
    expect(client.options.enableAutoPipelining).toBe(true);
    client.disconnect();
  });
});
