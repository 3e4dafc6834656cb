/** Command-line options of `npm run torture`. */
export interface TortureArgs {
  loadMs: number;
  seed: number;
  broken: boolean;
  /** Keep the ledgers even when the run passes. */
  keepLedgers: boolean;
}

const USAGE =
  'usage: npm run torture -- [--minutes N | --seconds N] [--seed N] [--broken]\n' +
  '  --minutes/--seconds  how long load and faults run (default 60 s)\n' +
  '  --seed               PRNG seed of the fault schedule and the load (default: random, printed)\n' +
  '  --broken             negative control: a gate that checks and adds in two steps\n' +
  '  --keep-ledgers       keep the ledgers and logs even when the run passes';

/** Parses argv; throws with the usage text on anything it does not know. */
export function parseArgs(argv: readonly string[], randomSeed: () => number): TortureArgs {
  const args: TortureArgs = {
    loadMs: 60_000,
    seed: randomSeed(),
    broken: false,
    keepLedgers: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--broken' || flag === '--keep-ledgers') {
      if (flag === '--broken') args.broken = true;
      else args.keepLedgers = true;
      continue;
    }
    const value = Number(argv[++i]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} needs a number\n${USAGE}`);
    if (flag === '--minutes') args.loadMs = value * 60_000;
    else if (flag === '--seconds') args.loadMs = value * 1_000;
    else if (flag === '--seed' && Number.isInteger(value)) args.seed = value;
    else throw new Error(`unknown or malformed option ${flag}\n${USAGE}`);
  }
  return args;
}
