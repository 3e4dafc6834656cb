/** One admitted wait. */
export interface OrderedWait {
  /** When the caller asked, on the shared clock. */
  arrivedAt: number;
  /** Anything that grows with the order of admission: a stamp, or the store's own sequence. */
  admitted: number;
}

/**
 * Pairs admitted out of order: `a` arrived more than `epsilonMs` before `b`, yet `b` was
 * admitted strictly before `a`. Arrivals closer than `epsilonMs` are not ordered: the stamp is
 * taken when the caller asks, before its command reaches Redis, so two callers a few µs apart
 * may reach the server in either order and no gate can be blamed for it.
 *
 * O(n log n): walk the waits by arrival; a Fenwick tree over admission ranks holds those that
 * arrived more than `epsilonMs` before the current one (a second pointer adds them as the walk
 * moves on), and the current wait counts those of them admitted after it.
 */
export function countOutOfOrder(waits: readonly OrderedWait[], epsilonMs: number): number {
  const byArrival = [...waits].sort((x, y) => x.arrivedAt - y.arrivedAt);
  const admitted = Float64Array.from(waits, (wait) => wait.admitted).sort();
  const tree = new Fenwick(admitted.length);
  let earlier = 0;
  let pairs = 0;
  for (const b of byArrival) {
    while (byArrival[earlier].arrivedAt < b.arrivedAt - epsilonMs) {
      tree.add(lowerBound(admitted, byArrival[earlier].admitted));
      earlier++;
    }
    // Of the `earlier` waits ahead of b, those not admitted by b's admission came after it.
    pairs += earlier - tree.countBelow(upperBound(admitted, b.admitted));
  }
  return pairs;
}

/** Counts of ranks 0..size-1, with prefix sums in O(log n). */
class Fenwick {
  private readonly sums: Float64Array;

  constructor(size: number) {
    this.sums = new Float64Array(size + 1);
  }

  add(rank: number): void {
    for (let i = rank + 1; i < this.sums.length; i += i & -i) this.sums[i]++;
  }

  /** How many added ranks are below `rank`. */
  countBelow(rank: number): number {
    let count = 0;
    for (let i = rank; i > 0; i -= i & -i) count += this.sums[i];
    return count;
  }
}

/** Index of the first value ≥ `value` in ascending `sorted`. */
function lowerBound(sorted: Float64Array, value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first value > `value` in ascending `sorted`. */
function upperBound(sorted: Float64Array, value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}
