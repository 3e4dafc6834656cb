import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { freePorts } from './free-ports';
import { answersPing, throwawayServerArgs } from './redis-server';

/** A private redis-server that speaks only TLS, with a throwaway CA. */
export interface TlsRedisServer {
  readonly port: number;
  /** `rediss://127.0.0.1:<port>`. */
  readonly url: string;
  /** The PEM of the CA that signed the server's certificate: the one to trust. */
  readonly ca: string;
  /** How long the certificates and the server took, in ms. */
  readonly startedInMs: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const run = promisify(execFile);

/**
 * Makes a throwaway CA and a server certificate it signs (for `IP:127.0.0.1` and `localhost`,
 * P-256 keys, valid one day) with `openssl` in a temporary dir, then starts
 * `redis-server --tls-port <p> --port 0` on them with `--tls-auth-clients no` (clients need no
 * certificate of their own) and persistence off, and waits until it answers PING over TLS.
 */
export async function startTlsRedisServer(): Promise<TlsRedisServer> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'qgate-redis-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await run('openssl', [
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=nestjs-queue-gate test CA',
  ]);
  await run('openssl', [
    'req',
    ...ecKey,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  writeFileSync(
    file('server.ext'),
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = IP:${HOST}, DNS:localhost`,
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
  ]);
  const ca = readFileSync(file('ca.crt'), 'utf8');

  const [port] = await freePorts(1);
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      HOST,
      '--tls-cert-file',
      file('server.crt'),
      '--tls-key-file',
      file('server.key'),
      '--tls-ca-cert-file',
      file('ca.crt'),
      '--tls-auth-clients',
      'no',
      ...throwawayServerArgs(dir),
    ],
    { stdio: 'ignore' },
  );
  await waitForTlsPing(port, ca, child);
  return {
    port,
    url: `rediss://${HOST}:${port}`,
    ca,
    startedInMs: Date.now() - started,
    stop: () => stopChild(child),
  };
}

/** Waits until the server answers PING over TLS (trusting `ca`), or fails after 10 s. */
async function waitForTlsPing(port: number, ca: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server (TLS) on ${port} exited at start`);
    if (await tlsPing(port, ca)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stopChild(child);
  throw new Error(`redis-server (TLS) on port ${port} did not answer within 10 s`);
}

function tlsPing(port: number, ca: string): Promise<boolean> {
  return answersPing(connect({ host: HOST, port, ca }), 'secureConnect');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
