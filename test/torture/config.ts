/**
 * The fixed shape of a torture run: models and limits, lease policy and timeouts. Short leases
 * and a command timeout below the injected pauses make every fault reach the gate's edge cases.
 */

/** Models behind `'event'` routes (a task goes to the work list) and their limits. */
export const EVENT_MODELS: Readonly<Record<string, number>> = {
  'img-a': 2,
  'vid-b': 3,
  'txt-c': 5,
};

/** The model of the `@Sse()` route, released when the stream ends. */
export const STREAM_MODEL = 'llm-s';

/** Every gate of the run and its limit. */
export const LIMITS: Readonly<Record<string, number>> = { ...EVENT_MODELS, [STREAM_MODEL]: 3 };

/**
 * Tenant shares (`perTenant`) of the models that have one: of `txt-c`'s 5 units a tenant holds
 * at most 2, so three tenants can want more than the model has.
 */
export const TENANT_SHARES: Readonly<Record<string, number>> = { 'txt-c': 2 };

/** The tenants a waiting task request names (header `x-tenant`). */
export const TENANTS: readonly string[] = ['t1', 't2', 't3'];

/** The `limits` option of every gate: the model limits, with the tenant shares. */
export const GATE_LIMITS: Readonly<Record<string, number | { limit: number; perTenant: number }>> =
  Object.fromEntries(
    Object.entries(LIMITS).map(([model, limit]) => [
      model,
      TENANT_SHARES[model] === undefined ? limit : { limit, perTenant: TENANT_SHARES[model] },
    ]),
  );

/** `waitSeconds` of the waiting task route and of the waiting stream route. */
export const TASK_WAIT_SECONDS = 1.5;
export const STREAM_WAIT_SECONDS = 0.8;

/**
 * A waiter's place lapses after this long without a heartbeat (one every 500 ms). Shorter than
 * the longest pauses (up to 2.2 s), so some waiters lose their place while Redis is paused.
 */
export const WAITER_LEASE_MS = 1_500;

/** Expected seconds of a model's tasks, for its lease; absent: the minimum lease. */
export const EXPECTED_SECONDS: Readonly<Record<string, number>> = { 'vid-b': 6 };

/** Lease of every slot: 4 s, so a task longer than that needs its keep-alive. */
export const LEASE = { minSeconds: 4, multiplier: 1, maxSeconds: 8 } as const;

/** Longest lease any slot can have, in ms (bounds the leak check). */
export const MAX_LEASE_MS = LEASE.maxSeconds * 1000;

/** Bound of one gate call; every injected pause is longer. */
export const COMMAND_TIMEOUT_MS = 700;

/** Retry backoff of releases that could not reach Redis. */
export const PENDING_RELEASES = { initialDelayMs: 100, maxDelayMs: 2_000 } as const;

/** Time a queued release needs to land once Redis answers again (a few backoff rounds). */
export const RELEASE_RETRY_WINDOW_MS = 3 * PENDING_RELEASES.maxDelayMs;

/** Key prefix of the gates, and key of the work list between API apps and workers. */
export const GATE_PREFIX = 'torture:gate:';
export const WORK_LIST = 'torture:work';

/** Tasks one worker process runs at once; two workers cover every event slot. */
export const WORKER_CONCURRENCY = 6;

/** Node options shared by every process of the run. */
export interface RunSettings {
  redisUrl: string;
  /** Directory of the JSONL ledgers. */
  ledgerDir: string;
  seed: number;
  /** Negative control: the API apps use a gate that checks and adds in two steps. */
  broken: boolean;
}
