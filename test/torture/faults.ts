import type { Redis } from 'ioredis';
import { COMMAND_TIMEOUT_MS } from './config';
import type { FaultKind, LedgerWriter } from './ledger';
import { type Prng } from './prng';
import type { RedisProcess } from './redis-process';
import type { WorkerPool } from './workers';

/** One planned fault: drawn from the PRNG before anything happens, so a PRNG seed replays it. */
export type Fault =
  | { kind: 'pause'; ms: number }
  | { kind: 'client-kill' }
  | { kind: 'script-flush' }
  | { kind: 'redis-restart'; signal: 'SIGTERM' | 'SIGKILL'; downMs: number }
  | { kind: 'worker-kill'; worker: number; respawnAfterMs: number };

const WEIGHTS: readonly (readonly [FaultKind, number])[] = [
  ['pause', 3],
  ['client-kill', 2],
  ['script-flush', 2],
  ['redis-restart', 1.5],
  ['worker-kill', 1.5],
];

/** The next fault and the wait before it (0.5–2 s). */
export function planFault(rng: Prng, workers: number): { waitMs: number; fault: Fault } {
  const waitMs = rng.int(500, 2_000);
  const kind = rng.weighted(WEIGHTS);
  switch (kind) {
    case 'pause':
      // Always longer than a gate call may wait, so calls in flight time out.
      return { waitMs, fault: { kind, ms: COMMAND_TIMEOUT_MS + rng.int(100, 1_500) } };
    case 'redis-restart':
      return {
        waitMs,
        fault: { kind, signal: rng.chance(0.5) ? 'SIGKILL' : 'SIGTERM', downMs: rng.int(0, 800) },
      };
    case 'worker-kill':
      return {
        waitMs,
        fault: { kind, worker: rng.int(0, workers - 1), respawnAfterMs: rng.int(0, 1_000) },
      };
    default:
      return { waitMs, fault: { kind } };
  }
}

/** What the injector acts on. */
export interface FaultTargets {
  redis: RedisProcess;
  /**
   * The parent's own client; CLIENT KILL spares the connection that sends it (not the parent's
   * admission watch, a pub/sub connection of its own).
   */
  control: Redis;
  workers: WorkerPool;
  ledger: LedgerWriter;
}

/**
 * Injects one fault and writes it to the parent's ledger when it takes effect. Resolves once the
 * fault is in place (Redis back up after a restart; a worker killed, its respawn under way), to
 * false when there was nothing to inject it into (every worker still coming back).
 */
export async function inject(fault: Fault, targets: FaultTargets): Promise<boolean> {
  const { redis, control, workers, ledger } = targets;
  const note = (detail: string) =>
    ledger.write({ kind: 'fault', at: Date.now(), fault: fault.kind, detail });
  switch (fault.kind) {
    case 'pause':
      note(`${fault.ms} ms`);
      await control.call('CLIENT', 'PAUSE', String(fault.ms), 'ALL');
      return true;
    case 'client-kill':
      // The gates' connections, then their subscribers (waiters then learn of admissions by
      // the heartbeat until ioredis has subscribed again).
      note('TYPE normal, then TYPE pubsub');
      await control.call('CLIENT', 'KILL', 'TYPE', 'normal');
      await control.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      return true;
    case 'script-flush':
      note('');
      await control.call('SCRIPT', 'FLUSH');
      return true;
    case 'redis-restart':
      note(`${fault.signal}, down ${fault.downMs} ms`);
      await redis.stop(fault.signal);
      await new Promise((resolve) => setTimeout(resolve, fault.downMs));
      await redis.launch();
      return true;
    case 'worker-kill': {
      // The planned worker, or another one when it is still coming back from a crash.
      const indexes = Array.from(
        { length: workers.size },
        (_, i) => (fault.worker + i) % workers.size,
      );
      const index = indexes.find((i) => workers.isAlive(i));
      if (index === undefined) return false;
      note(`worker ${index}, respawn after ${fault.respawnAfterMs} ms`);
      return workers.crash(index, fault.respawnAfterMs);
    }
  }
}
