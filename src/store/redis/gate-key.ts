/** Key prefix of every gate when none is configured. */
export const DEFAULT_KEY_PREFIX = 'qgate:';

/**
 * The Redis key of a gate's holders: `<prefix>{<model>}`. The braces make the model the Cluster
 * hash tag, so every key a gate will ever need lands in one slot and one script can touch them
 * all.
 */
export function gateKey(prefix: string, model: string): string {
  return `${prefix}{${model}}`;
}

/**
 * The Redis key of a gate's book (admissions with their fencing tokens, counters, waiters):
 * `<prefix>{<model>}:tokens`, in the gate's slot.
 */
export function gateTokensKey(prefix: string, model: string): string {
  return `${gateKey(prefix, model)}:tokens`;
}

/** The Redis key of a gate's queue of waiters: `<prefix>{<model>}:queue`, in the gate's slot. */
export function gateQueueKey(prefix: string, model: string): string {
  return `${gateKey(prefix, model)}:queue`;
}

/**
 * The channel that announces admissions handed to a gate's waiters:
 * `<prefix>{<model>}:admitted`, in the gate's slot (sharded pub/sub on a Cluster needs that).
 */
export function gateChannel(prefix: string, model: string): string {
  return `${gateKey(prefix, model)}:admitted`;
}
