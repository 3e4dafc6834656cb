import type { Redis } from 'ioredis';
import { Semaphore, TimeoutError } from 'redis-semaphore';
import { QueueGate } from '../../src';
import { BENCH } from '../config';
import { queueGateKind } from '../contenders/queue-gate.contender';
import { redisSemaphoreKind } from '../contenders/redis-semaphore.contender';
import { ArrivalNotingStore } from './arrival-noting-store';

/** A slot a waiter was admitted to. */
export interface Admission {
  /** Gives the slot back. */
  release(): Promise<unknown>;
  /**
   * Where this admission stands among the gate's admissions as Redis made them, and when the
   * call reached Redis (store clock, ms), where the gate tells: QueueGate's fencing token,
   * strictly increasing per gate, and its acquire script's clock. Null for redis-semaphore.
   */
  inRedis: { reachedAt: number; order: number } | null;
}

/** One gate that a process's waiters share, over the process's own connection. */
export interface WaitingGate {
  /** Waits for a slot: the admission, or null when the wait ran out. */
  acquire(): Promise<Admission | null>;
  /** Closes what the gate opened besides `client` (the store's subscriber, for QueueGate). */
  close(): Promise<unknown>;
}

/** Builds one contender's gate named `gate` on the process's connection. */
export type WaitingContender = (client: Redis, gate: string) => WaitingGate;

/**
 * QueueGate as an application waits with it: the limit from its options, `waitMs` for the
 * wait, release fenced with the admission's token. Waiters queue in Redis and are handed a
 * slot when one is released (published to the process that waits), rather than polling.
 */
const queueGate: WaitingContender = (client, gate) => {
  const store = new ArrivalNotingStore(client);
  const service = new QueueGate(store, { limits: { [gate]: BENCH.waiting.limit } });
  return {
    async acquire() {
      const slot = await service.acquire(gate, { waitMs: BENCH.waiting.waitMs });
      const reachedAt = store.takeReachedAt(slot.taskId);
      if (!slot.acquired) return null;
      const token = slot.token!;
      return {
        release: () => service.release(gate, slot.taskId, { token }),
        inRedis: reachedAt === null ? null : { reachedAt, order: token },
      };
    },
    close: () => service.close(),
  };
};

/**
 * redis-semaphore's Semaphore with all its defaults, one instance per acquire as its API
 * intends: `acquire()` tries, and while the set is full sleeps `retryInterval` (10 ms) and tries
 * again, for up to `acquireTimeout` (10 s, then TimeoutError). Its refresh timer (every 8 s of a
 * 10 s lock) never fires on slots held 20–50 ms.
 */
const redisSemaphore: WaitingContender = (client, gate) => ({
  async acquire() {
    const semaphore = new Semaphore(client, gate, BENCH.waiting.limit);
    try {
      await semaphore.acquire();
    } catch (error) {
      if (error instanceof TimeoutError) return null;
      throw error;
    }
    return { release: () => semaphore.release(), inRedis: null };
  },
  close: () => Promise.resolve(),
});

/**
 * The contenders of the waiting section in report order, by the names they have in the
 * closed-loop comparison.
 */
export const WAITING_CONTENDERS: Readonly<Record<string, WaitingContender>> = {
  [queueGateKind.name]: queueGate,
  [redisSemaphoreKind.name]: redisSemaphore,
};
