import type { QueueGate } from '../../src';
import { BENCH } from '../config';

/**
 * Puts `count` holders on a gate through the service, a bounded number at a time so that
 * 100,000 acquires neither queue up unbounded in the client nor take long.
 */
export async function fillGate(gate: QueueGate, model: string, count: number): Promise<void> {
  for (let done = 0; done < count;) {
    const chunk = Math.min(BENCH.memory.fillConcurrency, count - done);
    const slots = await Promise.all(Array.from({ length: chunk }, () => gate.acquire(model)));
    if (slots.some((slot) => !slot.acquired)) throw new Error(`gate "${model}" refused a holder`);
    done += chunk;
  }
}
