import type { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

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
