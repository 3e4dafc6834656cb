import type { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

/** Where the numbers were measured. */
export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  redis: string;
}

export async function describeMachine(client: Redis): Promise<Machine> {
  const info = await client.info('server');
  return {
    cores: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    redis: /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown',
  };
}

function cpuModel(): string {
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The machine's 1-minute load average over a run: what else kept its cores busy. */
export interface LoadOverRun {
  atStart: number;
  mean: number;
  max: number;
}

/**
 * Samples the 1-minute load average every 5 s until the returned function is called. On a
 * machine others use too, a load well above the core count means the figures were disturbed.
 */
export function watchLoad(): () => LoadOverRun {
  const samples = [loadavg()[0]];
  const timer = setInterval(() => samples.push(loadavg()[0]), 5_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    samples.push(loadavg()[0]);
    return {
      atStart: samples[0],
      mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
      max: Math.max(...samples),
    };
  };
}
