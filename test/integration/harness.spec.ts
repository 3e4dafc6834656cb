import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';
import { RedisGateStore } from '../../src';

describe('test harness', () => {
  it('reaches a private Redis and runs an acquire script there', async () => {
    const client = newRedis();
    const prefix = uniquePrefix('harness');
    try {
      const store = new RedisGateStore(client, prefix);
      const reply = await store.acquire({
        gate: 'm',
        holder: 'a',
        limit: 1,
        leaseMs: 60_000,
        attempt: 'x',
      });
      expect(reply).toMatchObject({ admitted: true, alreadyHeld: false, used: 1, reclaimed: 0 });
      expect(await client.zcard(`${prefix}{m}`)).toBe(1);
    } finally {
      await dropKeys(client, prefix);
      await closeClient(client);
    }
  });
});
