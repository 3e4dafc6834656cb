import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults } from '../report/results';

/**
 * Writes every run, not just the medians, next to the compiled benchmark (dist-bench/, not
 * versioned), for a closer look at a figure that seems off. Returns the file's path.
 */
export function saveRuns(results: BenchResults): string {
  const path = join(__dirname, '..', '..', 'bench-runs.json');
  const plain = (_key: string, value: unknown) =>
    value instanceof Map ? Object.fromEntries(value) : value;
  writeFileSync(path, JSON.stringify(results, plain, 2));
  return path;
}
