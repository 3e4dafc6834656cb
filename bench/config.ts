/**
 * The benchmark's knobs. Defaults keep `npm run bench` at a few minutes on a 2-core machine;
 * BENCH_ROUNDS, BENCH_RUN_MS, BENCH_HTTP_ROUNDS, BENCH_HTTP_SECONDS, BENCH_WAITING_MS and
 * BENCH_SCALE_OUT_MS shorten it while working on the benchmark itself.
 */
export const BENCH = {
  /** Rounds of every interleaved comparison; results are medians over rounds. */
  rounds: positiveInt(process.env.BENCH_ROUNDS, 7),
  /** Length of one closed-loop run of one contender, in ms. */
  runMs: positiveInt(process.env.BENCH_RUN_MS, 1_000),
  /** Length of the untimed warm-up run of each contender, in ms. */
  warmUpMs: 300,
  /** A limit no run reaches: every acquire is admitted. */
  uncontendedLimit: 1_000_000,
  /** Lease of every slot, in ms: long enough that nothing expires during the run. */
  leaseMs: 3_600_000,
  http: {
    /** autocannon connections; enough to keep the app busy without swamping two cores. */
    connections: 32,
    /** Seconds of one autocannon run. */
    seconds: positiveInt(process.env.BENCH_HTTP_SECONDS, 3),
    /** Rounds per platform: fewer than the closed loop's, as there are two apps of four routes. */
    rounds: positiveInt(process.env.BENCH_HTTP_ROUNDS, 5),
    /** Limit of the decorated route: high enough that nothing is refused. */
    limit: 100_000,
    /** The throttled route's limit per window: no run comes near it, so nothing is refused. */
    throttleLimit: 1_000_000_000,
    /** The throttler's window, in ms. */
    throttleTtlMs: 60_000,
  },
  memory: {
    /** Gate sizes measured for memory per slot and for acquire cost. */
    small: 100,
    large: 100_000,
    /** Concurrent acquires while filling a gate. */
    fillConcurrency: 2_000,
  },
  waiting: {
    /** Worker processes, each an application instance with its own connections. */
    processes: 2,
    /** Closed-loop waiters per process: 256 waiters in all. */
    waitersPerProcess: 128,
    /** The gate's limit: a quarter of the waiters hold a slot, the rest wait. */
    limit: 64,
    /** A task holds its slot a random time in this range, in ms. */
    holdMs: [20, 50],
    /** How long QueueGate waits for a slot; redis-semaphore's default acquireTimeout is the same. */
    waitMs: 10_000,
    /** Unmeasured start of each run: process start-up, JIT, the first queue. */
    warmUpMs: 1_000,
    /** The measured window of each contender's run, in ms. */
    runMs: positiveInt(process.env.BENCH_WAITING_MS, 8_000),
    /** Arrivals stamped by the callers closer than this are not ordered (see out-of-order.ts). */
    epsilonMs: 1,
  },
  durability: {
    /** Rounds of the with/without comparison: at most 5, so the section stays under 40 s. */
    rounds: Math.min(5, positiveInt(process.env.BENCH_ROUNDS, 5)),
    /** Length of one closed-loop run, in ms. */
    runMs: positiveInt(process.env.BENCH_RUN_MS, 1_000),
    /** `durability.replicas` of the durable contender: the one replica the section starts. */
    replicas: 1,
    /** `durability.timeoutMs` of the durable contender (the option's default). */
    timeoutMs: 1_000,
  },
  scaleOut: {
    /** Application processes of each point, on one Redis and on the Cluster. */
    processes: [1, 2, 4],
    /** Closed-loop callers in each process. */
    callersPerProcess: 16,
    /** Gates the callers spread over (caller i uses gate i mod this): on a Cluster, every shard. */
    gates: 64,
    /** Primaries of the Cluster (no replicas: every node's CPU is admissions' work). */
    shards: 3,
    /** Unmeasured start of each point: process start-up, JIT, the scripts loaded. */
    warmUpMs: 1_000,
    /** The measured window of each point, in ms. */
    runMs: positiveInt(process.env.BENCH_SCALE_OUT_MS, 5_000),
  },
  scale: {
    /** Sequential acquires between two readings of the server's counters. */
    batch: 20,
    /** Batches per gate per round. */
    batchesPerRound: 50,
  },
} as const;

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
