import { errorMessage } from '../core/errors/error-message';
import { parseArgs } from 'node:util';

/** Default key prefix of the gates, as the module uses it. */
export const DEFAULT_CLI_PREFIX = 'qgate:';
/** Redis URL used when neither `--url` nor `REDIS_URL` is given. */
export const DEFAULT_CLI_URL = 'redis://127.0.0.1:6379';

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  usage: 1,
  /** A doctor error finding, or Redis could not be reached. */
  unavailable: 2,
  /** `release` found nothing held (or a newer admission holds the task). */
  notHeld: 3,
} as const;

export const USAGE = `Usage: queue-gate <command> [options]

Commands:
  status                                every gate: used/limit, holders, waiting, soonest lease end
  holders <model>                       the live holders of a gate
  release <model> <taskId> [--token N]  give a task's slot back (exit 3 when nothing was held)
  reconcile <model> --from <file>       make the gate hold exactly the task ids in <file>
                                        (a JSON array of ids, or one id per line)
  doctor                                check the Redis server (exit 2 on an error finding)

Options:
  --url <url>       Redis URL (default: $REDIS_URL or ${DEFAULT_CLI_URL})
  --prefix <prefix> key prefix of the gates (default: ${DEFAULT_CLI_PREFIX})
  --limits <file>   JSON map of model to limit (as the limits option), shown by status
  --json            print JSON instead of a table
  -h, --help        print this text

Exit codes: 0 ok, 1 bad usage, 2 doctor error or Redis unreachable, 3 release found nothing held.`;

/** A command line the CLI cannot run: the message names the bad argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Common {
  url: string;
  prefix: string;
  json: boolean;
  /** File of the `--limits` option, if given. */
  limits?: string;
}

/** A parsed command line. */
export type CliCommand = Common &
  (
    | { command: 'help' }
    | { command: 'status' }
    | { command: 'doctor' }
    | { command: 'holders'; model: string }
    | { command: 'release'; model: string; taskId: string; token?: number }
    | { command: 'reconcile'; model: string; from: string }
  );

const COMMANDS = ['status', 'holders', 'release', 'reconcile', 'doctor'] as const;

/**
 * Parses the arguments after `queue-gate` (no I/O). Throws {@link UsageError} naming the bad
 * argument: an unknown command or option, a missing or extra positional, an option the command
 * does not take, a token that is not a non-negative integer.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        prefix: { type: 'string' },
        json: { type: 'boolean', default: false },
        token: { type: 'string' },
        from: { type: 'string' },
        limits: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const url = values.url ?? (env.REDIS_URL || DEFAULT_CLI_URL);
  if (url === '') throw new UsageError('Option --url must not be empty.');
  const prefix = values.prefix ?? DEFAULT_CLI_PREFIX;
  if (values.limits === '') throw new UsageError('Option --limits must name a file.');
  const common: Common = {
    url,
    prefix,
    json: values.json,
    ...(values.limits === undefined ? {} : { limits: values.limits }),
  };
  const [name, ...rest] = positionals;
  if (values.help) return { ...common, command: 'help' };
  if (name === undefined) throw new UsageError('Missing command.');
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown command "${name}".`);
  }
  const command = name as (typeof COMMANDS)[number];
  if (values.token !== undefined && command !== 'release') {
    throw new UsageError(`Option --token is only for "release", not "${command}".`);
  }
  if (values.from !== undefined && command !== 'reconcile') {
    throw new UsageError(`Option --from is only for "reconcile", not "${command}".`);
  }
  const take = (names: readonly string[]): string[] => {
    if (rest.length < names.length) {
      throw new UsageError(`Missing <${names[rest.length]}> for "${command}".`);
    }
    if (rest.length > names.length) {
      throw new UsageError(`Unexpected argument "${rest[names.length]}" for "${command}".`);
    }
    return rest;
  };
  switch (command) {
    case 'status':
    case 'doctor':
      take([]);
      return { ...common, command };
    case 'holders': {
      const [model] = take(['model']);
      return { ...common, command, model };
    }
    case 'release': {
      const [model, taskId] = take(['model', 'taskId']);
      const token = values.token === undefined ? undefined : parseToken(values.token);
      return { ...common, command, model, taskId, ...(token === undefined ? {} : { token }) };
    }
    case 'reconcile': {
      const [model] = take(['model']);
      if (values.from === undefined || values.from === '') {
        throw new UsageError('Missing --from <file> for "reconcile".');
      }
      return { ...common, command, model, from: values.from };
    }
  }
}

function parseToken(text: string): number {
  const token = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(token)) {
    throw new UsageError(`Option --token must be a non-negative integer, got "${text}".`);
  }
  return token;
}

/**
 * The task ids of a reconcile file: a JSON array of strings, or one id per line (blank lines
 * and surrounding spaces ignored).
 */
export function parseTaskIds(text: string, file = '--from'): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let ids: unknown;
    try {
      ids = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`File ${file} is not valid JSON: ${errorMessage(error)}`);
    }
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw new UsageError(`File ${file} must hold a JSON array of task id strings.`);
    }
    return ids;
  }
  return trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The limits of a `--limits` file: a JSON object of model to limit entry (checked on use). */
export function parseLimits(text: string, file = '--limits'): Record<string, unknown> {
  let limits: unknown;
  try {
    limits = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`File ${file} is not valid JSON: ${errorMessage(error)}`);
  }
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw new UsageError(`File ${file} must hold a JSON object of model to limit.`);
  }
  return limits as Record<string, unknown>;
}
