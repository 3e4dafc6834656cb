import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { errorMessage } from '../core/errors/error-message';
import { GateUnavailableError } from '../core/errors/gate-unavailable.error';
import { QueueGateError } from '../core/errors/queue-gate.error';
import { StaleTokenError } from '../core/errors/stale-token.error';
import type { GateSnapshot } from '../core/gate-results';
import type { LimitSource } from '../core/limit-source';
import { QueueGate } from '../core/queue-gate';
import { redactUrl } from '../store/redis/redact-url';
import { RedisGateStore } from '../store/redis/redis-gate-store';
import {
  type CliCommand,
  EXIT,
  parseCli,
  parseLimits,
  parseTaskIds,
  USAGE,
  UsageError,
} from './args';
import { renderFindings, renderHolders, renderStatus } from './table';

/** Where the CLI writes; the process's streams by default. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

const PROCESS_IO: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

/** Keys one snapshot call looks at. */
const SNAPSHOT_COUNT = 500;
/** Longest wait for the connection to Redis, in ms. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Runs one command line; resolves with the exit code (never rejects). */
export async function runCli(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  let command: CliCommand;
  let limits: LimitSource | undefined;
  let taskIds: string[] | undefined;
  try {
    command = parseCli(argv, io.env);
    if (command.command === 'help') {
      io.out(USAGE);
      return EXIT.ok;
    }
    if (command.limits !== undefined) {
      limits = parseLimits(
        await readText(command.limits, '--limits'),
        command.limits,
      ) as LimitSource;
    }
    if (command.command === 'reconcile') {
      taskIds = parseTaskIds(await readText(command.from, '--from'), command.from);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`queue-gate: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }

  const client = new Redis(command.url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Errors surface through the commands; without a listener ioredis logs them too. The last one
  // says why a connection failed better than the connect() rejection does.
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    const why = errorMessage(lastError ?? error);
    io.err(`queue-gate: cannot reach Redis at ${redactUrl(command.url)}: ${why}`);
    client.disconnect();
    return EXIT.unavailable;
  }
  const gate = new QueueGate(new RedisGateStore(client, command.prefix), { limits });
  try {
    return await execute(command, gate, io, taskIds ?? []);
  } catch (error) {
    return report(error, io);
  } finally {
    await gate.close(1_000).catch(() => undefined);
    await client.quit().catch(() => client.disconnect());
  }
}

async function execute(
  command: Exclude<CliCommand, { command: 'help' }>,
  gate: QueueGate,
  io: CliIo,
  taskIds: string[],
): Promise<number> {
  const print = (value: unknown, table: () => string): void =>
    io.out(command.json ? JSON.stringify(value, null, 2) : table());
  switch (command.command) {
    case 'status': {
      const gates: GateSnapshot[] = [];
      let cursor: string | undefined;
      do {
        const page = await gate.snapshot({ cursor, count: SNAPSHOT_COUNT });
        gates.push(...page.gates);
        cursor = page.cursor ?? undefined;
      } while (cursor !== undefined);
      gates.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
      print(gates, () => renderStatus(gates, Date.now()));
      return EXIT.ok;
    }
    case 'holders': {
      const holders = await gate.holders(command.model);
      print(holders, () => renderHolders(holders, Date.now()));
      return EXIT.ok;
    }
    case 'release': {
      const { model, taskId, token } = command;
      try {
        const released = await gate.release(model, taskId, token === undefined ? {} : { token });
        print({ model, taskId, released }, () =>
          released
            ? `Released task "${taskId}" on gate "${model}".`
            : `Task "${taskId}" held nothing on gate "${model}".`,
        );
        return released ? EXIT.ok : EXIT.notHeld;
      } catch (error) {
        if (!(error instanceof StaleTokenError)) throw error;
        print(
          { model, taskId, released: false, stale: true, currentToken: error.currentToken },
          () => error.message,
        );
        return EXIT.notHeld;
      }
    }
    case 'reconcile': {
      const result = await gate.reconcile(command.model, taskIds);
      print(
        result,
        () =>
          `Gate "${result.model}": ${result.added} added, ${result.removed} removed, ` +
          `${result.used} held now.`,
      );
      return EXIT.ok;
    }
    case 'doctor': {
      const findings = await gate.doctor();
      print(findings, () => renderFindings(findings));
      return findings.some((finding) => finding.severity === 'error') ? EXIT.unavailable : EXIT.ok;
    }
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof GateUnavailableError) {
    io.err(`queue-gate: ${error.message}`);
    return EXIT.unavailable;
  }
  if (error instanceof QueueGateError) {
    // Bad input the gate refused (a model name, a task id, a limit): nothing reached the store.
    io.err(`queue-gate: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  io.err(`queue-gate: ${errorMessage(error)}`);
  return EXIT.unavailable;
}

async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Option ${option}: cannot read "${file}": ${errorMessage(error)}`);
  }
}
