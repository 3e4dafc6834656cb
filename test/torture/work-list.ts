import { Redis } from 'ioredis';
import { WORK_LIST } from './config';

/** A task on its way from an API app to a worker. */
export interface WorkItem {
  admission: string;
  model: string;
  taskId: string;
  token: number | null;
  attempt: number;
  expectedSeconds: number | undefined;
  /** A failed task whose retry a worker handed over: take its slot again before running it. */
  retry?: boolean;
}

/**
 * A client that pushes to the work list (API apps, and workers handing a retry over): fails fast (no offline queue, a command timeout) so
 * that a request answers 503 in bounded time while Redis is tortured, and never resends a push
 * after a reconnect, which would deliver a task twice.
 */
export function pushClient(url: string): Redis {
  return new Redis(url, {
    commandTimeout: 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
  });
}

/**
 * A client of the work list for a worker. No command timeout: a BLPOP whose answer is given up
 * on would still pop its task in Redis, and that task would be lost.
 */
export function popClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export async function pushWork(client: Redis, item: WorkItem): Promise<void> {
  await client.rpush(WORK_LIST, JSON.stringify(item));
}

/** The next task, or undefined after `timeoutSeconds` without one. */
export async function popWork(
  client: Redis,
  timeoutSeconds: number,
): Promise<WorkItem | undefined> {
  const reply = await client.blpop(WORK_LIST, timeoutSeconds);
  return reply ? (JSON.parse(reply[1]) as WorkItem) : undefined;
}
