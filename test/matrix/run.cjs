/* global __dirname, Buffer, console, fetch, process, setTimeout, clearTimeout */
// The package as users install it: builds and packs the library (`npm run build`, `npm pack`)
// in a clean copy of the repository, checks the tarball, then installs it into each fixture app
// of fixtures/ (the app's dependencies as a user would list them, npm's strict peer checks)
// and boots the app against a private redis-server to run an admission check over real HTTP:
// with a limit of 2, two requests are admitted (201) and keep their slots (release: 'event'),
// the third is refused with 429 and Retry-After, the end of a task frees a slot, and a fourth
// request is admitted. A row with @nestjs/terminus connects as its own ACL user and also serves
// GET /health through nestjs-queue-gate/terminus: 200 with the gate's indicator up and its
// details, then 503 with it down while the user may not touch the row's keys (a doctor error),
// then 200 again. The typings fixture compiles a TypeScript consumer instead.
//
// Usage: node test/matrix/run.cjs [row ...]   (all rows by default)
// Env: MATRIX_JOBS (rows at once, default 2), MATRIX_KEEP=1 (keep the temp dir).
// Writes only under one temp dir (removed at the end); every process it starts is ended by its
// pid (process group) on every exit path.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const SHARED_APP = path.join(__dirname, 'shared', 'app.cjs');
const JOBS = Math.max(1, Number(process.env.MATRIX_JOBS) || 2);
const INSTALL_TIMEOUT_MS = 240_000;
const BOOT_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline'];
/** Packages whose installed versions the table shows. */
const SHOWN = [
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  'ioredis',
  '@nestjs/event-emitter',
  '@liaoliaots/nestjs-redis',
  '@nestjs/terminus',
  'typescript',
];

const started = new Set(); // live children, ended by pid on exit
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nqg-matrix-'));
const t0 = Date.now();
const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);
const log = (line) => console.log(`[matrix ${seconds(t0).padStart(5)}s] ${line}`);

/** Runs a command in its own process group; resolves with its exit code and output tail. */
function run(command, args, { cwd, env, timeoutMs, logFile }) {
  return new Promise((resolve) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    started.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child, 'SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      started.delete(child);
      fs.closeSync(out);
      resolve({ code: timedOut ? 'timeout' : (code ?? signal), tail: tail(logFile) });
    });
  });
}

function kill(child, signal) {
  try {
    process.kill(-child.pid, signal); // its process group: npm and what npm started
  } catch {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
}

function tail(file, lines = 25) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function redisPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(String(data).startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends one command to the matrix's Redis; resolves with the first line of the reply. */
function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(2000);
    const encoded = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
    socket.on('connect', () => socket.write(`*${args.length}\r\n${encoded}`));
    let reply = '';
    socket.on('data', (data) => {
      reply += data;
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error(`redis-server did not answer ${args[0]}`));
    });
  });
}

async function aclSetUser(port, user, ...rules) {
  const reply = await redisCommand(port, 'ACL', 'SETUSER', user, ...rules);
  if (reply !== '+OK') throw new Error(`ACL SETUSER ${user} ${rules.join(' ')}: ${reply}`);
}

async function startRedis() {
  const port = await freePort();
  const dir = path.join(tmp, 'redis');
  fs.mkdirSync(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--dir', dir], {
    stdio: ['ignore', fs.openSync(path.join(dir, 'redis.log'), 'a'), 'inherit'],
    detached: true,
  });
  started.add(child);
  child.on('exit', () => started.delete(child));
  for (let i = 0; i < 100; i++) {
    if (await redisPing(port)) return { port, child };
    await sleep(100);
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

/**
 * `npm run build` and `npm pack` in a clean copy of the work tree as git sees it (tracked and
 * untracked files, not ignored ones), so no stale dist/ of an earlier build reaches the tarball.
 */
async function pack() {
  const stage = path.join(tmp, 'package-src');
  const listed = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  for (const file of String(listed).split('\0').filter(Boolean)) {
    const source = path.join(ROOT, file);
    if (!fs.existsSync(source)) continue; // deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
    fs.copyFileSync(source, path.join(stage, file));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
  const logFile = path.join(tmp, 'pack.log');
  for (const args of [
    ['run', 'build'],
    ['pack', '--pack-destination', tmp],
  ]) {
    const { code, tail: output } = await run('npm', args, {
      cwd: stage,
      timeoutMs: 180_000,
      logFile,
    });
    if (code !== 0) throw new Error(`npm ${args.join(' ')} failed (${code}):\n${output}`);
  }
  const tarball = fs.readdirSync(tmp).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  return path.join(tmp, tarball);
}

/** What the tarball must and must not carry. */
async function checkTarball(tarball) {
  const listing = path.join(tmp, 'tarball.txt');
  const { code } = await run('tar', ['-tzf', tarball], { timeoutMs: 30_000, logFile: listing });
  if (code !== 0) return { ok: false, detail: `tar -tzf failed (${code})` };
  const files = fs.readFileSync(listing, 'utf8').trim().split('\n');
  const problems = [];
  for (const required of [
    'package/package.json',
    'package/dist/index.js',
    'package/dist/index.d.ts',
  ])
    if (!files.includes(required)) problems.push(`missing ${required}`);
  for (const file of files) {
    if (file.endsWith('.map')) problems.push(`source map ${file}`);
    if (/\.spec\./.test(file)) problems.push(`spec ${file}`);
    if (file.startsWith('package/dist/demo/')) problems.push(`demo ${file}`);
  }
  // No file may point at a source map or source that the tarball lacks.
  const extract = path.join(tmp, 'tarball');
  fs.mkdirSync(extract);
  await run('tar', ['-xzf', tarball, '-C', extract], {
    timeoutMs: 30_000,
    logFile: path.join(tmp, 'tar.log'),
  });
  for (const file of files.filter((name) => name.endsWith('.js') || name.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(extract, file), 'utf8');
    const match = /\/\/# sourceMappingURL=(\S+)/.exec(text);
    if (match && !files.includes(path.posix.join(path.posix.dirname(file), match[1])))
      problems.push(`${file} points at ${match[1]}, not in the tarball`);
  }
  const kb = Math.round(fs.statSync(tarball).size / 1024);
  return {
    ok: problems.length === 0,
    detail: problems.length
      ? problems.slice(0, 8).join('; ')
      : `${files.length} files, ${kb} kB, no maps`,
  };
}

/** The EBADENGINE warnings of an npm install, as "package@version wants node RANGE". */
function engineWarnings(logFile) {
  const text = fs.readFileSync(logFile, 'utf8').replace(/npm warn EBADENGINE/g, '');
  const pattern = /package: '([^']+)',\s*required: \{ node: '([^']+)'/g;
  return [
    ...new Set([...text.matchAll(pattern)].map(([, name, range]) => `${name} wants node ${range}`)),
  ];
}

function installedVersions(dir) {
  const versions = {};
  for (const name of SHOWN) {
    try {
      const manifest = path.join(dir, 'node_modules', name, 'package.json');
      versions[name] = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
    } catch {
      // not in this row
    }
  }
  return versions;
}

/**
 * `GET /health` of a row with `@nestjs/terminus`, whose app connects as `user`: 200 with the
 * indicator `queue-gate` up and the details it gives (counters 0: no release failed, no lease
 * ended unreleased; no doctor error); 503 with it down and the doctor's `access` error while
 * the user may not touch the row's keys; 200 once it may again.
 */
async function healthChecks(url, { redisPort, user, keys }, expect) {
  const health = async () => {
    const response = await fetch(url);
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
    return { status: response.status, text, body, gate: body.details?.['queue-gate'] };
  };
  const hasCounters = (gate) =>
    [gate?.pendingReleases, gate?.droppedReleases, gate?.reclaimedLeases].every(
      (count) => count === 0,
    ) && Array.isArray(gate?.doctor);

  const up = await health();
  expect(up.status === 200, `/health: ${up.status} ${up.text}`);
  expect(
    up.body.status === 'ok' && up.gate?.status === 'up' && hasCounters(up.gate),
    `/health: ${up.text}`,
  );
  expect(
    up.gate.doctor.every((finding) => finding.severity !== 'error'),
    `/health: a doctor error while up: ${up.text}`,
  );
  expect(
    JSON.stringify(up.body.info?.['queue-gate']) === JSON.stringify(up.gate),
    `/health: info and details differ: ${up.text}`,
  );

  await aclSetUser(redisPort, user, 'resetkeys', '~elsewhere:*');
  let down;
  try {
    down = await health();
  } finally {
    await aclSetUser(redisPort, user, 'resetkeys', keys);
  }
  expect(down.status === 503, `/health without key access: ${down.status} ${down.text}`);
  expect(
    down.body.status === 'error' &&
      down.gate?.status === 'down' &&
      hasCounters(down.gate) &&
      down.gate.doctor.some((f) => f.severity === 'error' && f.check === 'access') &&
      JSON.stringify(down.body.error?.['queue-gate']) === JSON.stringify(down.gate),
    `/health without key access: ${down.text}`,
  );

  const again = await health();
  expect(again.status === 200, `/health with key access back: ${again.status} ${again.text}`);
  return '/health up 200, down 503 (doctor error), up 200';
}

/** Boots the fixture and runs the admission check over HTTP. Returns a one-line summary. */
async function admissionCheck(row, dir, redisPort, usesEvents, usesTerminus) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const keyPrefix = `matrix:${row}:`;
  // A row with a health check connects as its own user, whose key access the check takes away.
  const acl = usesTerminus
    ? { redisPort, user: `matrix-${row}`, password: `pw-${process.pid}`, keys: `~${keyPrefix}*` }
    : undefined;
  if (acl) await aclSetUser(redisPort, acl.user, 'on', `>${acl.password}`, acl.keys, '&*', '+@all');
  const credentials = acl ? `${acl.user}:${acl.password}@` : '';
  const logFile = path.join(dir, 'app.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [manifest.main], {
    cwd: dir,
    env: {
      ...process.env,
      REDIS_URL: `redis://${credentials}127.0.0.1:${redisPort}`,
      MATRIX_KEY_PREFIX: keyPrefix,
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', out],
    detached: true,
  });
  started.add(child);
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      started.delete(child);
      resolve(code ?? signal);
    }),
  );
  let summary;
  let failure;
  try {
    const port = await new Promise((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(
        () => reject(new Error('no MATRIX_LISTENING in 30 s')),
        BOOT_TIMEOUT_MS,
      );
      child.stdout.on('data', (data) => {
        fs.appendFileSync(logFile, data);
        buffer += data;
        const match = /MATRIX_LISTENING (\d+)/.exec(buffer);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}) before listening`));
      });
    });
    const base = `http://127.0.0.1:${port}/models/m/tasks`;
    const post = async (url) => {
      const response = await fetch(url, { method: 'POST' });
      const text = await response.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: response.status, headers: response.headers, body };
    };
    const expect = (condition, message) => {
      if (!condition) throw new Error(message);
    };
    const first = await post(base);
    expect(first.status === 201, `1st request: ${first.status} ${JSON.stringify(first.body)}`);
    expect(
      typeof first.body.token === 'number',
      `1st request: no token in ${JSON.stringify(first.body)}`,
    );
    const second = await post(base);
    expect(second.status === 201, `2nd request: ${second.status} ${JSON.stringify(second.body)}`);
    expect(second.body.token > first.body.token, '2nd request: token not above the 1st');
    const third = await post(base);
    const retryAfter = third.headers.get('retry-after');
    expect(third.status === 429, `3rd request: ${third.status} (expected 429; slots not held?)`);
    expect(/^[1-9]\d*$/.test(retryAfter ?? ''), `3rd request: Retry-After "${retryAfter}"`);
    const { taskId, token } = first.body;
    const done = await post(`${base}/${encodeURIComponent(taskId)}/done?token=${token}`);
    const via = usesEvents ? 'event' : 'service';
    expect(
      done.status === 201 && done.body.released === true && done.body.via === via,
      `task end (${via}): ${done.status} ${JSON.stringify(done.body)}`,
    );
    const fourth = await post(base);
    expect(fourth.status === 201, `4th request after the release: ${fourth.status}`);
    summary = `201 201 429 (Retry-After ${retryAfter}), release by ${via}, 201`;
    if (acl) summary += `, ${await healthChecks(`http://127.0.0.1:${port}/health`, acl, expect)}`;
  } catch (error) {
    failure = error;
  }
  // The application must also stop cleanly: a SIGTERM closes it and the process ends.
  kill(child, 'SIGTERM');
  const hung = new Promise((resolve) => setTimeout(resolve, EXIT_TIMEOUT_MS, 'hung').unref());
  const code = await Promise.race([exited, hung]);
  if (code === 'hung') kill(child, 'SIGKILL');
  fs.closeSync(out);
  if (failure) throw failure;
  if (code === 'hung')
    throw new Error(`did not exit within ${EXIT_TIMEOUT_MS / 1000} s of SIGTERM`);
  if (code !== 0) throw new Error(`exited with ${code} after SIGTERM`);
  return summary;
}

async function runRow(row, tarball, redisPort) {
  const since = Date.now();
  const dir = path.join(tmp, 'rows', row);
  fs.cpSync(path.join(FIXTURES, row), dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const result = { row, description: manifest.description, ok: false, detail: '', versions: {} };
  log(`${row}: npm install`);
  const install = await run('npm', [...NPM_INSTALL, tarball], {
    cwd: dir,
    timeoutMs: INSTALL_TIMEOUT_MS,
    logFile: path.join(dir, 'install.log'),
  });
  result.installSeconds = seconds(since);
  result.versions = installedVersions(dir);
  if (install.code !== 0) {
    result.detail = `npm install failed (${install.code})`;
    result.log = install.tail;
    return result;
  }
  // npm only warns about engines; this package's own must admit this Node, the rest are noted.
  result.engineWarnings = engineWarnings(path.join(dir, 'install.log'));
  const own = result.engineWarnings.find((warning) => warning.startsWith('nestjs-queue-gate@'));
  if (own) {
    result.detail = `this Node is outside the package's engines: ${own}`;
    return result;
  }
  const checkSince = Date.now();
  try {
    if (fs.existsSync(path.join(dir, 'consumer.ts.txt'))) {
      fs.renameSync(path.join(dir, 'consumer.ts.txt'), path.join(dir, 'consumer.ts'));
      const tsc = await run(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], {
        cwd: dir,
        timeoutMs: 120_000,
        logFile: path.join(dir, 'tsc.log'),
      });
      if (tsc.code !== 0)
        throw Object.assign(new Error(`tsc failed (${tsc.code})`), { log: tsc.tail });
      result.detail = `tsc --noEmit clean (skipLibCheck off)`;
    } else {
      fs.copyFileSync(SHARED_APP, path.join(dir, 'app.cjs'));
      const usesEvents = Boolean(manifest.dependencies['@nestjs/event-emitter']);
      const usesTerminus = Boolean(manifest.dependencies['@nestjs/terminus']);
      result.detail = await admissionCheck(row, dir, redisPort, usesEvents, usesTerminus);
    }
    result.ok = true;
  } catch (error) {
    result.detail = error.message;
    result.log = error.log ?? tail(path.join(dir, 'app.log'));
  }
  result.checkSeconds = seconds(checkSince);
  return result;
}

function printTable(results) {
  const short = (versions, name) => versions[name] ?? '-';
  const rows = results.map((r) => [
    r.ok ? 'PASS' : 'FAIL',
    r.row,
    short(r.versions, '@nestjs/core'),
    r.versions['@nestjs/platform-fastify']
      ? 'fastify'
      : r.versions['@nestjs/platform-express']
        ? 'express'
        : '-',
    short(r.versions, 'ioredis'),
    short(r.versions, '@nestjs/event-emitter'),
    short(r.versions, '@liaoliaots/nestjs-redis'),
    short(r.versions, '@nestjs/terminus'),
    r.installSeconds ?? '-',
    r.detail.length > 110 ? `${r.detail.slice(0, 107)}...` : r.detail,
  ]);
  const header = [
    'result',
    'row',
    'nest',
    'http',
    'ioredis',
    'event-em.',
    'nestjs-redis',
    'terminus',
    'inst. s',
    'check',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const r of rows) console.log(line(r));
  for (const r of results.filter((x) => x.engineWarnings?.length)) {
    console.log(`note: ${r.row}: npm warned EBADENGINE: ${r.engineWarnings.join('; ')}`);
  }
  for (const r of results.filter((x) => !x.ok)) {
    console.log(`\n--- ${r.row}: ${r.detail}${r.log ? `\n${r.log}` : ''}`);
  }
}

function cleanUp() {
  for (const child of started) kill(child, 'SIGKILL');
  started.clear();
  if (process.env.MATRIX_KEEP === '1') console.log(`matrix: kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

async function main() {
  const wanted = process.argv.slice(2);
  const all = fs.readdirSync(FIXTURES).sort();
  const unknown = wanted.filter((row) => !all.includes(row));
  if (unknown.length)
    throw new Error(`unknown rows ${unknown.join(', ')}; rows: ${all.join(', ')}`);
  const rows = wanted.length ? wanted : all;

  log(`node ${process.version}, npm build + pack in a clean copy (${tmp})`);
  const tarball = await pack();
  log(`packed ${path.basename(tarball)}`);
  const results = [{ row: 'tarball', versions: {}, ...(await checkTarball(tarball)) }];
  const redis = await startRedis();
  log(`redis-server on port ${redis.port} (pid ${redis.child.pid})`);

  const queue = [...rows];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      const result = await runRow(row, tarball, redis.port);
      log(
        `${row}: ${result.ok ? 'PASS' : 'FAIL'} (${seconds(t0)} s into the run) ${result.detail}`,
      );
      results.push(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOBS, rows.length) }, worker));
  const redisExited = new Promise((resolve) => {
    if (redis.child.exitCode !== null || redis.child.signalCode !== null) resolve();
    redis.child.once('exit', resolve);
    setTimeout(resolve, 5000).unref();
  });
  kill(redis.child, 'SIGTERM');
  await redisExited;

  results.sort((a, b) =>
    a.row === 'tarball' ? -1 : b.row === 'tarball' ? 1 : rows.indexOf(a.row) - rows.indexOf(b.row),
  );
  printTable(results);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\nmatrix: ${results.length - failed} passed, ${failed} failed, ${seconds(t0)} s`);
  return failed === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
main()
  .then((code) => {
    cleanUp();
    process.exitCode = code;
  })
  .catch((error) => {
    console.error(`matrix: ${error.stack ?? error}`);
    cleanUp();
    process.exitCode = 1;
  });
