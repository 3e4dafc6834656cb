import { Redis as IORedis } from 'ioredis';
import {
  AcquireAbortedError,
  GateUnavailableError,
  QueueGate,
  RedisGateStore,
  StaleTokenError,
} from '../../src';
import { GateMetrics, METRIC_NAMES as M } from '../../src/otel';
import { CapturedLogger } from '../support/captured-logger';
import {
  collectedMetrics,
  histogramSum,
  valueOf,
  type CollectedMetrics,
} from '../support/collected-metrics';
import { eventually, sleep } from '../support/eventually';
import { startRedisServer, type RedisServer } from '../support/redis-server';

/**
 * The gate's OpenTelemetry metrics, read through a real SDK from a gate on a private Redis (the
 * outage tests pause the whole server).
 */
describe('OpenTelemetry metrics', () => {
  let server: RedisServer;
  let client: IORedis;
  let admin: IORedis;
  let otel: CollectedMetrics;
  let gate: QueueGate;
  let logger: CapturedLogger;
  let prefix = 'metrics-0:';
  let round = 0;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new IORedis(server.url);
  });

  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  beforeEach(() => {
    prefix = `metrics-${++round}:`;
    client = new IORedis(server.url, { maxRetriesPerRequest: 1 });
    otel = collectedMetrics();
    logger = new CapturedLogger();
    const metrics = new GateMetrics(otel.provider.getMeter('test'));
    gate = new QueueGate(new RedisGateStore(client, prefix), {
      limits: { m: 2, w: 1, t: { limit: 4, perTenant: 1 } },
      commandTimeoutMs: 150,
      pendingReleases: { initialDelayMs: 20, maxDelayMs: 50 },
      observers: [metrics],
      logger,
    });
    metrics.watch(gate);
  });

  afterEach(async () => {
    await gate.close(1_000);
    await otel.shutdown();
    client.disconnect();
  });

  const model = (name: string) => ({ 'queue_gate.model': name });
  const result = (name: string, outcome: string) => ({
    'queue_gate.model': name,
    'queue_gate.result': outcome,
  });

  it('counts acquires by result and refusing limit, and times them', async () => {
    await gate.acquire('m', { taskId: 'a' });
    await gate.acquire('m', { taskId: 'b' });
    await gate.acquire('m', { taskId: 'c' });
    await gate.acquire('m', { taskId: 'a' });
    await gate.acquire('t', { taskId: 'x', tenant: 'acme' });
    await gate.acquire('t', { taskId: 'y', tenant: 'acme' });

    const metrics = await otel.collect();
    expect(valueOf(metrics, M.acquires, result('m', 'admitted'))).toBe(2);
    expect(valueOf(metrics, M.acquires, result('m', 'full'))).toBe(1);
    expect(
      valueOf(metrics, M.acquires, { ...result('m', 'full'), 'queue_gate.refused_by': 'model' }),
    ).toBe(1);
    expect(valueOf(metrics, M.acquires, result('m', 'already_held'))).toBe(1);
    expect(
      valueOf(metrics, M.acquires, { ...result('t', 'full'), 'queue_gate.refused_by': 'tenant' }),
    ).toBe(1);
    expect(valueOf(metrics, M.acquireDuration, model('m'))).toBe(4);
    expect(histogramSum(metrics, M.acquireDuration, model('m'))).toBeGreaterThan(0);
    expect(metrics.get(M.acquireDuration)?.descriptor.unit).toBe('s');
  });

  it('counts releases by result and measures how long a slot was held', async () => {
    const a = await gate.acquire('m', { taskId: 'a' });
    await sleep(30);
    await gate.release('m', 'a', { token: a.token! });
    await gate.release('m', 'nobody');
    const first = await gate.acquire('m', { taskId: 'b' });
    await gate.reacquire('m', 'b');
    await expect(gate.release('m', 'b', { token: first.token! })).rejects.toBeInstanceOf(
      StaleTokenError,
    );

    const metrics = await otel.collect();
    expect(valueOf(metrics, M.releases, result('m', 'landed'))).toBe(1);
    expect(valueOf(metrics, M.releases, result('m', 'not_held'))).toBe(1);
    expect(valueOf(metrics, M.releases, result('m', 'stale'))).toBe(1);
    expect(valueOf(metrics, M.holdDuration, model('m'))).toBe(1);
    expect(histogramSum(metrics, M.holdDuration, model('m'))).toBeGreaterThanOrEqual(0.03);
  });

  it('reports a wait that timed out, with the time waited, and an aborted wait', async () => {
    await gate.acquire('w', { taskId: 'holder' });
    const timedOut = await gate.acquire('w', { taskId: 'late', waitMs: 120 });
    expect(timedOut.acquired).toBe(false);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      gate.acquire('w', { taskId: 'gone', waitMs: 5_000, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AcquireAbortedError);

    const metrics = await otel.collect();
    expect(valueOf(metrics, M.acquires, result('w', 'timed_out'))).toBe(1);
    expect(valueOf(metrics, M.acquires, result('w', 'aborted'))).toBe(1);
    expect(valueOf(metrics, M.waitDuration, result('w', 'timed_out'))).toBe(1);
    expect(histogramSum(metrics, M.waitDuration, result('w', 'timed_out'))).toBeGreaterThanOrEqual(
      0.11,
    );
  });

  it('counts ended leases an acquire reclaimed', async () => {
    const store = new RedisGateStore(admin, prefix);
    await store.acquire({ gate: 'm', holder: 'dead', limit: 2, leaseMs: 20, attempt: 'x1' });
    await sleep(60);
    const reply = await gate.acquire('m', { taskId: 'next' });
    expect(reply.reclaimed).toBe(1);

    const metrics = await otel.collect();
    expect(valueOf(metrics, M.reclaimedLeases, model('m'))).toBe(1);
  });

  it('reads used, limit and waiting per model from the store when collected', async () => {
    await gate.acquire('m', { taskId: 'a' });
    await gate.acquire('w', { taskId: 'h' });
    const waiter = gate.acquire('w', { taskId: 'queued', waitMs: 1_500 });
    await eventually(async () => expect((await gate.usage('w')).waiting).toBe(1));

    const metrics = await otel.collect();
    expect(valueOf(metrics, M.used, model('m'))).toBe(1);
    expect(valueOf(metrics, M.limit, model('m'))).toBe(2);
    expect(valueOf(metrics, M.used, model('w'))).toBe(1);
    expect(valueOf(metrics, M.waiting, model('w'))).toBe(1);
    await gate.release('w', 'h');
    expect((await waiter).acquired).toBe(true);
  });

  it('reads at most gaugeModels gates, and no gate at all with gauges: false', async () => {
    for (const name of ['g1', 'g2', 'g3']) await gate.acquire(name, { taskId: 'a' });
    const capped = new GateMetrics(otel.provider.getMeter('capped'), { gaugeModels: 2 });
    capped.watch(gate);
    const off = new GateMetrics(otel.provider.getMeter('off'), { gauges: false });
    off.watch(gate);

    const { resourceMetrics } = await otel.collectByScope();
    const used = (scope: string) =>
      resourceMetrics.scopeMetrics
        .find((metrics) => metrics.scope.name === scope)
        ?.metrics.find((metric) => metric.descriptor.name === M.used)?.dataPoints.length ?? 0;
    expect(used('test')).toBe(3);
    expect(used('capped')).toBe(2);
    expect(used('off')).toBe(0);
  });

  it('reports an outage: unavailable acquires, queued releases that land later, no false zero gauges', async () => {
    await gate.acquire('m', { taskId: 'a' });
    await admin.client('PAUSE', 800, 'ALL');
    await expect(gate.acquire('m', { taskId: 'b' })).rejects.toBeInstanceOf(GateUnavailableError);
    await expect(gate.release('m', 'a')).rejects.toBeInstanceOf(GateUnavailableError);

    const during = await otel.collect();
    expect(valueOf(during, M.acquires, result('m', 'unavailable'))).toBe(1);
    // The lost acquire's undo and the release: both queued.
    expect(valueOf(during, M.releases, result('m', 'queued'))).toBe(2);
    expect(valueOf(during, M.pendingReleases)).toBe(2);
    expect(during.get(M.used)?.dataPoints ?? []).toHaveLength(0);

    await eventually(() => expect(gate.pendingReleases().queued).toBe(0), { timeoutMs: 5_000 });
    // Each retry lands: `landed`, or `not_held` when the timed-out command itself ran after the
    // pause and the retry found nothing left to free.
    const after = await otel.collect();
    expect(
      valueOf(after, M.releases, result('m', 'landed')) +
        valueOf(after, M.releases, result('m', 'not_held')),
    ).toBe(2);
    expect(valueOf(after, M.pendingReleases)).toBe(0);
    expect(valueOf(after, M.used, model('m'))).toBe(0);
  });

  it('counts a release dropped at the retry queue bound', async () => {
    await gate.close(0);
    const dropping = new QueueGate(new RedisGateStore(client, prefix), {
      limits: { m: 5 },
      commandTimeoutMs: 100,
      pendingReleases: { maxSize: 1, initialDelayMs: 5_000 },
      observers: [new GateMetrics(otel.provider.getMeter('dropping'))],
      logger,
    });
    try {
      await admin.client('PAUSE', 500, 'ALL');
      await expect(dropping.release('m', 'one')).rejects.toBeInstanceOf(GateUnavailableError);
      await expect(dropping.release('m', 'two')).rejects.toBeInstanceOf(GateUnavailableError);
      const metrics = await otel.collect();
      expect(valueOf(metrics, M.releases, result('m', 'dropped'))).toBe(1);
      expect(dropping.pendingReleases().dropped).toBe(1);
    } finally {
      await sleep(500);
      await dropping.close(1_000);
    }
  });

  it('keeps the gate working when an observer throws, and says so once', async () => {
    await gate.close(0);
    const throwing = new QueueGate(new RedisGateStore(client, prefix), {
      limits: { m: 1 },
      observers: [
        {
          onAcquire: () => {
            throw new Error('dashboard down');
          },
        },
      ],
      logger,
    });
    try {
      expect((await throwing.acquire('m', { taskId: 'a' })).acquired).toBe(true);
      expect((await throwing.acquire('m', { taskId: 'b' })).acquired).toBe(false);
      expect(await throwing.release('m', 'a')).toBe(true);
      const complaints = logger.lines.filter((line) => line.message.includes('dashboard down'));
      expect(complaints).toHaveLength(1);
    } finally {
      await throwing.close(1_000);
    }
  });
});
