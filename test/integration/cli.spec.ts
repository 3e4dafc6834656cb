import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { QueueGate, RedisGateStore } from '../../src';
import { CHILD_BOOTSTRAP } from '../support/strictness-register';
import { closeClient, dropKeys, newRedis, testRedisUrl, uniquePrefix } from '../support/test-redis';

const CLI_ENTRY = join(__dirname, '../../src/cli/main.ts');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI's TypeScript entry in a child process (compiled on load, no build needed). */
function cli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--eval', CHILD_BOOTSTRAP, CLI_ENTRY, ...args],
      { timeout: 20_000, env: { ...process.env, REDIS_URL: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the queue-gate CLI against a real Redis', () => {
  let client: Redis;
  let prefix: string;
  let gate: QueueGate;
  let dir: string;
  /** The options every call names: the run's Redis and this spec's keys. */
  let target: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'queue-gate-cli-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    client = newRedis();
    prefix = uniquePrefix('cli');
    gate = new QueueGate(new RedisGateStore(client, prefix), { limits: { video: 2 } });
    target = ['--url', testRedisUrl(), '--prefix', prefix];
  });

  afterEach(async () => {
    await gate.close(1_000);
    await dropKeys(client, prefix);
    await closeClient(client);
  });

  it('status lists the gates a QueueGate made, as a table and as JSON', async () => {
    await gate.acquire('video', { taskId: 'v1', expectedSeconds: 120 });
    await gate.acquire('audio', { taskId: 'a1' });
    await gate.acquire('audio', { taskId: 'a2' });

    const table = await cli('status', ...target);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^MODEL\s+USED\/LIMIT\s+HOLDERS\s+WAITING\s+ENDED\s+RECLAIMED\s+SOONEST END$/,
    );
    expect(lines[1]).toMatch(/^audio\s+2\/-\s+2\s+0\s+0\s+0\s+in \S+$/);
    expect(lines[2]).toMatch(/^video\s+1\/-\s+1\s+0\s+0\s+0\s+in \S+$/);
    expect(lines).toHaveLength(3);

    const limitsFile = join(dir, 'limits.json');
    await writeFile(limitsFile, JSON.stringify({ video: 2 }));
    const json = await cli('status', ...target, '--json', '--limits', limitsFile);
    expect(json.code).toBe(0);
    const gates = JSON.parse(json.stdout);
    expect(gates).toEqual([
      expect.objectContaining({ model: 'audio', used: 2, holders: 2, waiting: 0, limit: null }),
      expect.objectContaining({ model: 'video', used: 1, holders: 1, waiting: 0, limit: 2 }),
    ]);
    expect(gates[1].soonestLeaseEnd).toBeGreaterThan(Date.now());
  });

  it('holders shows a holder; release frees it (exit 0), then finds nothing (exit 3)', async () => {
    const slot = await gate.acquire('video', { taskId: 'task-1' });

    const holders = await cli('holders', 'video', ...target);
    expect(holders.code).toBe(0);
    expect(holders.stdout).toMatch(new RegExp(`^task-1\\s+${slot.token}\\s+1\\s+-\\s+in `, 'm'));
    const json = await cli('holders', 'video', '--json', ...target);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ taskId: 'task-1', token: slot.token, cost: 1, tenant: null }),
    ]);

    const released = await cli(
      'release',
      'video',
      'task-1',
      '--token',
      String(slot.token),
      ...target,
    );
    expect(released).toMatchObject({ code: 0 });
    expect(released.stdout).toMatch(/Released task "task-1"/);
    expect((await gate.usage('video')).holders).toBe(0);

    const again = await cli('release', 'video', 'task-1', ...target);
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(/held nothing/);
  });

  it('release with a token of an earlier admission changes nothing and exits 3', async () => {
    const first = await gate.acquire('video', { taskId: 'task-1' });
    const second = await gate.reacquire('video', 'task-1');
    const stale = await cli(
      'release',
      'video',
      'task-1',
      '--token',
      String(first.token),
      ...target,
    );
    expect(stale.code).toBe(3);
    expect((await gate.holders('video')).map((h) => h.token)).toEqual([second.token]);
  });

  it('reconcile --from a file of ids, one per line or a JSON array', async () => {
    await gate.acquire('video', { taskId: 'gone' });
    await gate.acquire('video', { taskId: 'kept' });
    const lines = join(dir, 'ids.txt');
    await writeFile(lines, 'kept\nnew-1\n\n');
    const run = await cli('reconcile', 'video', '--from', lines, ...target);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1 added, 1 removed, 2 held now/);
    expect((await gate.holders('video')).map((h) => h.taskId).sort()).toEqual(['kept', 'new-1']);

    const array = join(dir, 'ids.json');
    await writeFile(array, JSON.stringify(['kept']));
    const json = await cli('reconcile', 'video', '--from', array, '--json', ...target);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ model: 'video', added: 0, removed: 1, used: 1 });
  });

  it('doctor exits 0 on the test Redis', async () => {
    const run = await cli('doctor', '--json', ...target);
    expect(run.code).toBe(0);
    const findings = JSON.parse(run.stdout) as { severity: string }[];
    expect(findings.filter((finding) => finding.severity === 'error')).toEqual([]);
  });

  it('a bad command or argument exits 1 with a message naming it and the usage', async () => {
    const run = await cli('stats', ...target);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Unknown command "stats"/);
    expect(run.stderr).toMatch(/Usage: queue-gate/);

    const token = await cli('release', 'video', 't', '--token', 'abc', ...target);
    expect(token.code).toBe(1);
    expect(token.stderr).toMatch(/--token must be a non-negative integer, got "abc"/);

    const missing = await cli('reconcile', 'video', '--from', join(dir, 'absent.txt'), ...target);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--from: cannot read/);
  });

  it('exits 2 when Redis cannot be reached', async () => {
    const run = await cli('status', '--url', 'redis://127.0.0.1:1', '--prefix', prefix);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
