import 'reflect-metadata';
import { renderDurability } from '../durability/report';
import { progress } from '../support/progress';
import { measureDurability } from './durability';

/**
 * The durability section alone, printing its part of the report: `npx tsc -p
 * tsconfig.bench.json && node dist-bench/bench/sections/durability-main.js`. About 25 s; it
 * starts and stops its own primary and replica, as it does inside `npm run bench`.
 */
async function main(): Promise<void> {
  const durability = await measureDurability();
  process.stdout.write(`${renderDurability(durability)}\n`);
  progress('durability: done');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
