import type { Redis } from 'ioredis';
import { MemoryGateStore } from '../../src/store/memory/memory-gate-store';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import { describeGateStoreContract } from '../support/store-contract';
import { closeClient, dropKeys, newRedis, uniquePrefix } from '../support/test-redis';

// The memory store runs on a test clock: time passes only when the contract says so.
describeGateStoreContract('MemoryGateStore', () => {
  let now = 1_700_000_000_000;
  return {
    store: new MemoryGateStore(() => now),
    pass: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    dispose: () => Promise.resolve(),
  };
});

// The Redis store runs on the real server and its clock: time passes by waiting.
describe('on a real Redis', () => {
  let client: Redis;

  beforeAll(() => {
    client = newRedis();
  });

  afterAll(async () => {
    await closeClient(client);
  });

  describeGateStoreContract('RedisGateStore', () => {
    const prefix = uniquePrefix('contract');
    return {
      store: new RedisGateStore(client, prefix),
      pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      dispose: () => dropKeys(client, prefix),
    };
  });
});
