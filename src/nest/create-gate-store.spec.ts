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
  it('batches concurrent commands into one write (auto-pipelining), fails fast, connects later', () => {
    const client = ownedClient({ redis: { url: 'redis://127.0.0.1:1' } });
    expect(client.options).toMatchObject({
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    expect(client.status).toBe('wait');
    client.disconnect();
  });

  it('lets redis.options override each default', () => {
    const client = ownedClient({
      redis: { url: 'redis://127.0.0.1:1', options: { enableAutoPipelining: false } },
    });
    expect(client.options.enableAutoPipelining).toBe(false);
    client.disconnect();
  });
});
