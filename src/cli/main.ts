#!/usr/bin/env node
/** The `queue-gate` command: inspect and repair the gates in Redis. See docs/OPERATING.md, CLI. */
import { runCli } from './run';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`queue-gate: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 2;
  },
);
