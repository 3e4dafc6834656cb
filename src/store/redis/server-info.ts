/** The fields of an `INFO` reply, by name (`# Section` headers and blank lines dropped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** A Redis-compatible server, as its `INFO server` names it. */
export interface ServerFlavour {
  /** Redis, Valkey, Dragonfly or KeyDB. */
  name: 'Redis' | 'Valkey' | 'Dragonfly' | 'KeyDB';
  /** Its own version (Valkey's and Dragonfly's, not the Redis version they report for clients). */
  version: string;
}

/** Which server answered: each fork reports its own version field beside `redis_version`. */
export function serverFlavour(info: Map<string, string>): ServerFlavour {
  const redisVersion = info.get('redis_version') ?? 'unknown';
  if (info.has('dragonfly_version')) {
    return { name: 'Dragonfly', version: info.get('dragonfly_version')! };
  }
  if (info.has('valkey_version')) return { name: 'Valkey', version: info.get('valkey_version')! };
  if (info.get('server_name') === 'valkey') return { name: 'Valkey', version: redisVersion };
  if ([...info.keys()].some((key) => key.startsWith('keydb')) || info.has('mvcc-depth')) {
    return { name: 'KeyDB', version: redisVersion };
  }
  return { name: 'Redis', version: redisVersion };
}

/** Largest skew between the server's clock and this process's that passes as sane: a day. */
export const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/**
 * Why a `TIME` read inside a script cannot be trusted, or undefined when it can. The gate
 * measures every lease on it; a server that answers zeros (as some have) would make every lease
 * end in 1970 and every slot look expired.
 */
export function insaneScriptTime(reply: unknown, localNowMs: number): string | undefined {
  if (!Array.isArray(reply) || reply.length < 2) {
    return `it answered ${JSON.stringify(reply)}, not [seconds, microseconds]`;
  }
  const ms = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  if (!Number.isFinite(ms) || ms <= 0) return `it answered ${JSON.stringify(reply)}`;
  if (Math.abs(ms - localNowMs) > MAX_CLOCK_SKEW_MS) {
    return `it is ${new Date(ms).toISOString()} there and ${new Date(localNowMs).toISOString()} here`;
  }
  return undefined;
}
