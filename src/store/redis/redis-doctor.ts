import type { Cluster, Redis } from 'ioredis';
import type { DoctorFinding } from '../../core/doctor';
import { errorMessage } from '../../core/errors/error-message';
import { isCluster } from './cluster-client';
import { insaneScriptTime, parseInfo, serverFlavour } from './server-info';

/** Reads a gate's usage under the prefix: fails with NOPERM when the user may not touch it. */
export type AccessProbe = () => Promise<unknown>;

/**
 * Checks a Redis-compatible server for what the gate needs: `TIME` inside scripts (every lease is
 * measured on it), access to the key prefix, no eviction (an evicted gate forgets its holders),
 * and notes a server with neither persistence nor replicas (a restart forgets every slot).
 * Names the server and its flavour. Each check that cannot run (a managed server may refuse
 * `CONFIG`) is reported, never thrown.
 */
export async function diagnoseRedis(
  client: Redis | Cluster,
  keyPrefix: string,
  probeAccess: AccessProbe,
): Promise<DoctorFinding[]> {
  const findings: DoctorFinding[] = [];
  const info = await readInfo(client, findings);
  if (info === undefined) return findings;
  const flavour = serverFlavour(info);
  const mode = info.get('redis_mode') ?? (isCluster(client) ? 'cluster' : 'standalone');
  findings.push({
    severity: 'info',
    check: 'server',
    message: `${flavour.name} ${flavour.version} (${mode}, role ${info.get('role') ?? 'unknown'}).`,
  });
  await checkScriptTime(client, findings);
  await checkAccess(keyPrefix, probeAccess, findings);
  await checkEviction(client, findings);
  checkDurability(info, findings);
  return findings;
}

async function readInfo(
  client: Redis | Cluster,
  findings: DoctorFinding[],
): Promise<Map<string, string> | undefined> {
  try {
    return parseInfo(await client.info());
  } catch (error) {
    findings.push({
      severity: 'warning',
      check: 'reachable',
      message: `Redis did not answer INFO (${errorMessage(error)}); the checks run when it does.`,
    });
    return undefined;
  }
}

async function checkScriptTime(client: Redis | Cluster, findings: DoctorFinding[]): Promise<void> {
  const proceed =
    'The gate measures every lease on the server clock read by TIME inside its scripts; run it ' +
    'on a Redis-compatible server that allows that (Redis or Valkey 5+, or ask your provider).';
  try {
    const reply = await client.eval("return redis.call('TIME')", 0);
    const insane = insaneScriptTime(reply, Date.now());
    if (insane !== undefined) {
      findings.push({
        severity: 'error',
        check: 'script-time',
        message: `TIME inside a script is not a sane clock: ${insane}. ${proceed}`,
      });
    }
  } catch (error) {
    findings.push({
      severity: 'error',
      check: 'script-time',
      message: `TIME inside a script failed (${errorMessage(error)}). ${proceed}`,
    });
  }
}

async function checkAccess(
  keyPrefix: string,
  probeAccess: AccessProbe,
  findings: DoctorFinding[],
): Promise<void> {
  try {
    await probeAccess();
  } catch (error) {
    const message = errorMessage(error);
    findings.push({
      severity: /NOPERM|NOAUTH|WRONGPASS|permission|can't run this command/i.test(message)
        ? 'error'
        : 'warning',
      check: 'access',
      message:
        `A gate's script under the key prefix "${keyPrefix}" failed (${message}). The Redis ` +
        `user needs the keys ~${keyPrefix}* and the channels &${keyPrefix}*, with the commands ` +
        'listed in the README (Least privilege).',
    });
  }
}

async function checkEviction(client: Redis | Cluster, findings: DoctorFinding[]): Promise<void> {
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy !== undefined && policy !== 'noeviction') {
      findings.push({
        severity: 'warning',
        check: 'eviction',
        message:
          `maxmemory-policy is "${policy}": under memory pressure Redis may evict a gate's keys, ` +
          'and the gate forgets its holders and over-admits. Use noeviction for the gate.',
      });
    }
  } catch (error) {
    findings.push({
      severity: 'info',
      check: 'eviction',
      message: `maxmemory-policy could not be read (${errorMessage(error)}); make sure it is noeviction.`,
    });
  }
}

function checkDurability(info: Map<string, string>, findings: DoctorFinding[]): void {
  const aof = info.get('aof_enabled') === '1';
  const replicas = Number(info.get('connected_slaves') ?? '0');
  if (!aof && replicas === 0 && info.get('role') !== 'slave') {
    findings.push({
      severity: 'info',
      check: 'durability',
      message:
        'No AOF and no replica: a restart of this Redis forgets every slot taken since its last ' +
        'snapshot, if any. Enable AOF, or reconcile the gates after a restart.',
    });
  }
}
