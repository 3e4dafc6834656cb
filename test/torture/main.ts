import { parseArgs } from './args';
import { formatResult } from './report';
import { runTorture } from './run';

/*
 * `npm run torture`: one run, its report on stdout, and the exit code. A normal run passes when
 * the checker finds nothing; a --broken run passes when the checker catches the over-admission.
 */

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), () => Math.floor(Math.random() * 1_000_000));
  const mode = args.broken ? 'negative control (--broken)' : 'real gate';
  console.log(`torture: ${args.loadMs / 1000} s of load and faults, seed ${args.seed}, ${mode}`);
  const result = await runTorture({
    loadMs: args.loadMs,
    seed: args.seed,
    broken: args.broken,
    keepLedgers: args.keepLedgers ? 'always' : 'on-failure',
    checkLeaks: !args.broken,
    log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(formatResult(result, mode));
  if (args.keepLedgers || result.report.failures.length > 0) {
    console.log(`ledgers kept in ${result.ledgerDir}`);
  }
  const length =
    args.loadMs % 60_000 === 0
      ? `--minutes ${args.loadMs / 60_000}`
      : `--seconds ${args.loadMs / 1000}`;
  console.log(
    `replay: npm run torture -- ${length} --seed ${args.seed}${args.broken ? ' --broken' : ''}`,
  );
  if (!args.broken) return result.report.failures.length === 0 ? 0 : 1;
  const caught = result.report.failures.some((failure) => failure.startsWith('strict:'));
  console.log(
    caught
      ? 'negative control: the checker caught the broken gate'
      : 'negative control FAILED: the broken gate was not caught',
  );
  return caught ? 0 : 1;
}

// Ctrl-C: leave through 'exit', whose handler kills every process the run started.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
