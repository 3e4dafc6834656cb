import { Redis } from 'ioredis';
import { GATE_PREFIX } from './config';

/**
 * The admissions Redis handed from a queue to a waiter, as the gates' scripts announce them on
 * `<prefix>{<model>}:admitted`: the parent listens to every gate's channel (one PSUBSCRIBE) and
 * keeps each admission's model, task id and token, so the report can tell which admissions the
 * ledgers saw came from a queue. It observes Redis, not the processes under test: an
 * announcement sent while its connection is down (a restart, a killed pub/sub connection) is
 * missed, so its counts are lower bounds.
 */
export class AdmissionWatch {
  private readonly handed = new Set<string>();
  private readonly client: Redis;

  private constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: null });
    this.client.on('error', () => undefined); // reconnects and subscribes again by itself
    this.client.on('pmessage', (_pattern: string, channel: string, message: string) =>
      this.heard(channel, message),
    );
  }

  static async start(url: string): Promise<AdmissionWatch> {
    const watch = new AdmissionWatch(url);
    await watch.client.psubscribe(`${escapeGlob(GATE_PREFIX)}{*}:admitted`);
    return watch;
  }

  /** Admissions announced. */
  get size(): number {
    return this.handed.size;
  }

  /** True when Redis announced this admission as handed from the queue. */
  has(model: string, taskId: string, token: number | null): boolean {
    return token !== null && this.handed.has(admissionKey(model, taskId, String(token)));
  }

  stop(): void {
    this.client.disconnect();
  }

  private heard(channel: string, message: string): void {
    const model = /\{(.*)\}:admitted$/.exec(channel)?.[1];
    if (model === undefined) return;
    let admissions: unknown;
    try {
      admissions = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(admissions)) return;
    // Each is [holder, attempt, token, expiresAt, used, tenantUsed].
    for (const admission of admissions) {
      if (!Array.isArray(admission) || admission.length < 3) continue;
      this.handed.add(admissionKey(model, String(admission[0]), String(admission[2])));
    }
  }
}

function admissionKey(model: string, taskId: string, token: string): string {
  return `${model}\n${taskId}\n${Number(token)}`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
