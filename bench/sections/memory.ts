import type { Redis } from 'ioredis';
import { BENCH } from '../config';
import { fillGate } from '../support/fill-gate';
import { progress } from '../support/progress';
import type { HeldGates } from './held-gates';

/** Redis memory of one gate with `holders` slots held. */
export interface MemoryResult {
  holders: number;
  /** The sorted set's encoding: listpack while small, skiplist past 128 members by default. */
  encoding: string;
  /** `MEMORY USAGE … SAMPLES 0` of the gate's two keys (holders, tokens): nothing sampled. */
  keyBytes: number;
  keyBytesPerSlot: number;
  /** Growth of the server's `used_memory` while the gate was filled, per slot. */
  usedMemoryBytesPerSlot: number;
}

/** Section 4: fills each held gate and weighs it. The gates stay filled for section 5. */
export async function measureMemory(client: Redis, gates: HeldGates): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const holders of [BENCH.memory.small, BENCH.memory.large]) {
    progress(`memory: filling a gate with ${holders} holders`);
    const model = gates.modelOf(holders);
    const key = gates.store.keyOf(model);
    const tokens = gates.store.tokensKeyOf(model);
    await client.del(key, tokens);
    const before = await usedMemory(client);
    await fillGate(gates.gate, model, holders);
    const after = await usedMemory(client);
    const keyBytes =
      Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) +
      Number(await client.call('MEMORY', 'USAGE', tokens, 'SAMPLES', '0'));
    results.push({
      holders,
      encoding: String(await client.call('OBJECT', 'ENCODING', key)),
      keyBytes,
      keyBytesPerSlot: keyBytes / holders,
      usedMemoryBytesPerSlot: (after - before) / holders,
    });
  }
  return results;
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}
