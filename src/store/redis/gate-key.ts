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

/** The Redis key of a gate's fencing tokens: `<prefix>{<model>}:tokens`, in the gate's slot. */
export function gateTokensKey(prefix: string, model: string): string {
  return `${gateKey(prefix, model)}:tokens`;
}
