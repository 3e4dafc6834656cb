import type { Redis } from 'ioredis';

/** Calls and total server time of one command, from `INFO commandstats`. */
export interface CommandStat {
  calls: number;
  usec: number;
}

/** The server's counters at one instant. */
export interface ServerSnapshot {
  commands: Map<string, CommandStat>;
  /** CPU seconds of the Redis process (user + system), from `INFO cpu`. */
  cpuSeconds: number;
}

/** What the server did between two snapshots. */
export interface ServerDelta {
  commands: Map<string, CommandStat>;
  /** CPU µs of the Redis process: network I/O and protocol parsing included, unlike usec. */
  cpuUsec: number;
}

/**
 * Reads the counters. Two INFO calls rather than one with two sections, so that servers older
 * than 7.0 work too; the calls themselves cost the server a few µs, not counted in any script.
 */
export async function snapshot(client: Redis): Promise<ServerSnapshot> {
  const [stats, cpu] = await Promise.all([client.info('commandstats'), client.info('cpu')]);
  return { commands: parseCommandStats(stats), cpuSeconds: parseCpuSeconds(cpu) };
}

export function delta(before: ServerSnapshot, after: ServerSnapshot): ServerDelta {
  const commands = new Map<string, CommandStat>();
  for (const [name, now] of after.commands) {
    const then = before.commands.get(name) ?? { calls: 0, usec: 0 };
    const calls = now.calls - then.calls;
    if (calls > 0) commands.set(name, { calls, usec: now.usec - then.usec });
  }
  return { commands, cpuUsec: (after.cpuSeconds - before.cpuSeconds) * 1e6 };
}

/** Total server time of the named commands. */
export function usecOf(delta: ServerDelta, names: readonly string[]): number {
  return names.reduce((sum, name) => sum + (delta.commands.get(name)?.usec ?? 0), 0);
}

/** Total calls of the named commands. */
export function callsOf(delta: ServerDelta, names: readonly string[]): number {
  return names.reduce((sum, name) => sum + (delta.commands.get(name)?.calls ?? 0), 0);
}

function parseCommandStats(text: string): Map<string, CommandStat> {
  const stats = new Map<string, CommandStat>();
  // cmdstat_evalsha:calls=12,usec=345,usec_per_call=28.75,rejected_calls=0,failed_calls=0
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

function parseCpuSeconds(text: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}
