import type { Cluster, Redis } from 'ioredis';
import type { StrictnessResult } from './strictness-protocol';

/** The gate under test, reduced to what the checker needs. */
export interface CheckedGate {
  /** A holder id when admitted, null when the gate is full. */
  tryAcquire(): Promise<string | null>;
  release(holder: string): Promise<void>;
}

export interface CheckOptions {
  workers: number;
  durationMs: number;
  holdMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs concurrent workers against a gate until the duration ends. An admitted worker raises a
 * counter shared by every process, notes the value it got, holds a few ms, then lowers the
 * counter before releasing: the counter never exceeds the number of slots held at that moment,
 * so a value above the limit proves the gate admitted too many.
 */
export async function checkGate(
  gate: CheckedGate,
  redis: Redis | Cluster,
  counter: string,
  options: CheckOptions,
): Promise<StrictnessResult> {
  const result: StrictnessResult = { maxInFlight: 0, admitted: 0, refused: 0, errors: 0 };
  const end = Date.now() + options.durationMs;

  const worker = async () => {
    while (Date.now() < end) {
      let holder: string | null;
      try {
        holder = await gate.tryAcquire();
      } catch (error) {
        result.errors++;
        result.lastError = String(error);
        await sleep(5);
        continue;
      }
      if (holder === null) {
        result.refused++;
        // A short, jittered pause keeps the gate under pressure without a busy loop.
        await sleep(Math.random() * 2);
        continue;
      }
      result.admitted++;
      try {
        const inFlight = await redis.incr(counter);
        result.maxInFlight = Math.max(result.maxInFlight, inFlight);
        await sleep(1 + Math.random() * options.holdMs);
        await redis.decr(counter);
      } finally {
        await gate.release(holder).catch((error) => {
          result.errors++;
          result.lastError = String(error);
        });
      }
    }
  };

  await Promise.all(Array.from({ length: options.workers }, worker));
  return result;
}
