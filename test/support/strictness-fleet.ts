import { join } from 'node:path';
import { type ChildFleet, startChildFleet } from './child-fleet';
import type { StrictnessJob, StrictnessResult } from './strictness-protocol';

/** Child processes of the strictness test, each one application instance. */
export type Fleet = ChildFleet<StrictnessJob, StrictnessResult>;

export function startFleet(size: number): Promise<Fleet> {
  return startChildFleet(join(__dirname, 'strictness-child.ts'), size, 'strictness child');
}

/** Adds up what the children saw: the highest in-flight count of all, and the totals. */
export function combine(results: StrictnessResult[]): StrictnessResult {
  return {
    maxInFlight: Math.max(...results.map((r) => r.maxInFlight)),
    admitted: sum(results.map((r) => r.admitted)),
    refused: sum(results.map((r) => r.refused)),
    errors: sum(results.map((r) => r.errors)),
    lastError: results.find((r) => r.lastError)?.lastError,
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
