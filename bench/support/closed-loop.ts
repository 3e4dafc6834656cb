import { performance } from 'node:perf_hooks';
import type { Contender } from '../contenders/contender';

/** What one closed-loop run measured on the client. */
export interface LoopResult {
  /** Admitted acquires whose release also completed. */
  pairs: number;
  /** Acquires answered "full". */
  refused: number;
  elapsedMs: number;
  /** Latency of every acquire attempt, admitted or refused, in µs. */
  acquireUs: number[];
}

/**
 * `callers` concurrent loops of acquire-then-release for `durationMs`: each caller has one
 * request in flight at a time, and a refused caller tries again at once, as a busy gateway's
 * request handlers would. Releases follow immediately, so the gate's occupancy comes only from
 * calls in flight.
 */
export async function runClosedLoop(
  contender: Contender,
  callers: number,
  durationMs: number,
): Promise<LoopResult> {
  const acquireUs: number[] = [];
  let pairs = 0;
  let refused = 0;
  const start = performance.now();
  const end = start + durationMs;
  const caller = async () => {
    while (performance.now() < end) {
      const asked = performance.now();
      const release = await contender.tryAcquire();
      acquireUs.push((performance.now() - asked) * 1000);
      if (release) {
        await release();
        pairs++;
      } else {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return { pairs, refused, elapsedMs: performance.now() - start, acquireUs };
}
