import { BENCH } from '../config';

/** A load shape of the closed-loop comparison. */
export interface Scenario {
  readonly label: string;
  readonly callers: number;
  readonly limit: number;
  readonly contended: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { label: '1 caller', callers: 1, limit: BENCH.uncontendedLimit, contended: false },
  { label: '16 callers', callers: 16, limit: BENCH.uncontendedLimit, contended: false },
  { label: '256 callers', callers: 256, limit: BENCH.uncontendedLimit, contended: false },
  { label: '256 callers, limit 64', callers: 256, limit: 64, contended: true },
];
