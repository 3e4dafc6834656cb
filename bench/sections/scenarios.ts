import { BENCH } from '../config';

/** A load shape of the closed-loop comparison. */
export interface Scenario {
  readonly label: string;
  readonly callers: number;
  readonly limit: number;
}

/**
 * Every load is uncontended. A closed loop on a full gate says little of the gate: by Little's
 * law its pairs/s is the limit over the time a slot stays taken, here mostly round trips.
 * Contention is measured by the waiting section instead (sections/waiting.ts).
 */
export const SCENARIOS: readonly Scenario[] = [
  { label: '1 caller', callers: 1, limit: BENCH.uncontendedLimit },
  { label: '16 callers', callers: 16, limit: BENCH.uncontendedLimit },
  { label: '256 callers', callers: 256, limit: BENCH.uncontendedLimit },
];
