import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on a clock that every process of this machine shares, with sub-ms precision:
 * `performance.timeOrigin` is the wall clock when the process started, `performance.now()` the
 * monotonic time since. Stamps from the two worker processes and the parent can be compared,
 * which `performance.now()` alone (per process) cannot, and `Date.now()` (whole ms) only coarsely.
 */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}
