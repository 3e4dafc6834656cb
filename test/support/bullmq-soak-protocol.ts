/** What the soak test tells its children, and what they answer (over IPC). */

/** The configuration every child of the BullMQ soak test reads from `SOAK_CONFIG` (JSON). */
export interface SoakConfig {
  redisUrl: string;
  /** Key prefix of the gate. */
  gatePrefix: string;
  /** Key prefix of BullMQ. */
  bullPrefix: string;
  queue: string;
  model: string;
  limit: number;
}

/** The environment variable that carries the {@link SoakConfig} to a child. */
export const SOAK_CONFIG_ENV = 'SOAK_CONFIG';

/** Reads the child's {@link SoakConfig}. */
export function soakConfig(): SoakConfig {
  const text = process.env[SOAK_CONFIG_ENV];
  if (!text) throw new Error(`${SOAK_CONFIG_ENV} is not set`);
  return JSON.parse(text) as SoakConfig;
}

/** What a child counted, sent on stop. */
export interface SoakChildStats {
  /** API child: admissions (each added one job). Worker child: attempts it ran. */
  admitted: number;
  /** API child: refusals. */
  refused: number;
  /** API child: errors of acquire or add. Worker child: unexpected errors. */
  errors: number;
  /** Worker child: attempts that succeeded. */
  succeeded: number;
  /** Worker child: attempts that threw a plain Error (retried when one is left). */
  threw: number;
  /** Worker child: attempts that threw UnrecoverableError. */
  unrecoverable: number;
  lastError?: string;
}

export type SoakParentMessage = { type: 'stop' };

export type SoakChildMessage =
  | { type: 'ready' }
  | { type: 'stopped'; stats: SoakChildStats }
  | { type: 'failed'; error: string };

export function emptyStats(): SoakChildStats {
  return { admitted: 0, refused: 0, errors: 0, succeeded: 0, threw: 0, unrecoverable: 0 };
}
