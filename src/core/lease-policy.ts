/**
 * How long a slot is leased: `expectedSeconds × multiplier`, clamped to
 * `[minSeconds, maxSeconds]`. A slot whose holder never releases it comes back when its lease
 * ends, so the lease must be well above the task's real duration for the gate to stay strict.
 */
export interface LeasePolicy {
  /** Factor applied to the expected task duration. Default 10. */
  multiplier: number;
  /** Shortest lease, in seconds; also the lease when no duration is expected. Default 3600. */
  minSeconds: number;
  /** Longest lease, in seconds. Default 86400 (24 h). */
  maxSeconds: number;
}

/** The default lease policy: ten times the expected duration, from 1 h to 24 h. */
export const DEFAULT_LEASE_POLICY: Readonly<LeasePolicy> = Object.freeze({
  multiplier: 10,
  minSeconds: 3600,
  maxSeconds: 86400,
});

/** Lease length in whole milliseconds (at least 1) for a task expected to take `expectedSeconds`. */
export function leaseMilliseconds(
  expectedSeconds: number | undefined,
  policy: LeasePolicy,
): number {
  const wanted =
    expectedSeconds === undefined || expectedSeconds <= 0
      ? policy.minSeconds
      : expectedSeconds * policy.multiplier;
  const clamped = Math.min(policy.maxSeconds, Math.max(policy.minSeconds, wanted));
  return Math.max(1, Math.ceil(clamped * 1000));
}
