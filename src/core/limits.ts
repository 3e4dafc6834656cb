/**
 * Bounds on numbers the gate passes to timers and to Redis. Past them a value is not just large
 * but wrong: Node fires a timer above 2^31-1 ms at once, and Redis refuses an expiry that far out
 * after a script already wrote.
 */

/** Longest delay Node's timers honour, in ms (2^31 - 1, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Longest lease, in ms: 366 days. */
export const MAX_LEASE_MS = 366 * 24 * 3600 * 1000;

/** Highest limit a gate accepts. */
export const MAX_LIMIT = 2 ** 31 - 1;
