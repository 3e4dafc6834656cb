import { CapturedLogger } from '../../test/support/captured-logger';
import { sleep, waitFor } from '../../test/support/eventually';
import { FaultyStore } from '../../test/support/faulty-store';
import type { AcquireRequest, GateStore, ReleaseRequest } from './gate-store';
import { MemoryGateStore } from '../store/memory/memory-gate-store';
import { DeadlineExceededError } from './deadline';
import {
  GateUnavailableError,
  InvalidArgumentError,
  InvalidExpectedSecondsError,
  InvalidLimitError,
  InvalidModelNameError,
  InvalidTaskIdError,
  QueueGateError,
  StaleTokenError,
} from './errors';
import { MAX_LEASE_MS, MAX_TIMER_MS } from './limits';
import { DEFAULT_COMMAND_TIMEOUT_MS, QueueGate, type QueueGateConfig } from './queue-gate';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HOUR_MS = 3_600_000;
const T0 = 1_700_000_000_000;
const DAY_S = 24 * 3600;

/** A memory store on a clock the test moves by hand. */
function manualClock() {
  const clock = { now: T0 };
  const store = new MemoryGateStore(() => clock.now);
  return { clock, store };
}

/** Awaits `work` and returns its rejection, failing the test when it resolves. */
async function rejectionOf(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

/** Runs `check` and returns what it threw, failing the test when it threw nothing. */
function thrownBy(check: () => unknown): Error {
  try {
    check();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

function gateOn(store: GateStore, config: QueueGateConfig = {}) {
  const logger = new CapturedLogger();
  const gate = new QueueGate(store, { logger, ...config });
  return { gate, logger };
}

describe('QueueGate on a MemoryGateStore', () => {
  let gates: QueueGate[] = [];
  afterEach(async () => {
    await Promise.all(gates.map((gate) => gate.close(0)));
    gates = [];
  });

  function setUp(config: QueueGateConfig = {}) {
    const { clock, store } = manualClock();
    const { gate, logger } = gateOn(store, config);
    gates.push(gate);
    return { clock, store, gate, logger };
  }

  describe('acquire', () => {
    it('takes a slot for a generated UUID and reports the whole answer', async () => {
      const { gate } = setUp({ defaultLimit: 2 });
      const result = await gate.acquire('flux');
      expect(result.taskId).toMatch(UUID);
      expect(result).toEqual({
        acquired: true,
        alreadyHeld: false,
        model: 'flux',
        taskId: result.taskId,
        used: 1,
        limit: 2,
        reclaimed: 0,
        expiresAt: T0 + HOUR_MS,
        token: expect.any(Number),
        cost: 1,
        tenant: null,
        tenantUsed: null,
        tenantLimit: null,
        refusedBy: null,
        waitedMs: 0,
        position: null,
      });
      expect(Number.isSafeInteger(result.token) && result.token! > 0).toBe(true);
      const other = await gate.acquire('flux');
      expect(other.taskId).toMatch(UUID);
      expect(other.taskId).not.toBe(result.taskId);
      expect(other.used).toBe(2);
      expect(other.token).toBeGreaterThan(result.token!);
    });

    it('uses a given task id', async () => {
      const { gate } = setUp();
      const result = await gate.acquire('flux', { taskId: 'task-42' });
      expect(result.taskId).toBe('task-42');
      expect(await gate.holders('flux')).toEqual([
        { taskId: 'task-42', expiresAt: T0 + HOUR_MS, token: result.token, cost: 1, tenant: null },
      ]);
    });

    it('answers full once the limit is reached, with no lease and no slot', async () => {
      const { gate } = setUp();
      await gate.acquire('flux', { taskId: 'a', limit: 2 });
      await gate.acquire('flux', { taskId: 'b', limit: 2 });
      const full = await gate.acquire('flux', { taskId: 'c', limit: 2 });
      expect(full).toMatchObject({
        acquired: false,
        alreadyHeld: false,
        taskId: 'c',
        used: 2,
        limit: 2,
        expiresAt: null,
        token: null,
      });
      expect((await gate.holders('flux')).map((h) => h.taskId).sort()).toEqual(['a', 'b']);
    });

    it('answers "held" with the same token to a task that already holds its slot, never a second slot', async () => {
      const { gate } = setUp();
      const first = await gate.acquire('flux', { taskId: 'a', limit: 1 });
      const again = await gate.acquire('flux', { taskId: 'a', limit: 1 });
      expect(again).toMatchObject({
        acquired: true,
        alreadyHeld: true,
        used: 1,
        token: first.token,
      });
    });

    it('turns expectedSeconds into a lease with the configured policy', async () => {
      const { gate } = setUp({ lease: { multiplier: 2, minSeconds: 1, maxSeconds: 100 } });
      expect((await gate.acquire('m', { expectedSeconds: 5 })).expiresAt).toBe(T0 + 10_000);
      expect((await gate.acquire('m', { expectedSeconds: 500 })).expiresAt).toBe(T0 + 100_000);
      expect((await gate.acquire('m')).expiresAt).toBe(T0 + 1_000);
    });

    it('keeps the default policy for the lease fields that are not configured', async () => {
      const { gate } = setUp({ lease: { multiplier: 20 } });
      expect((await gate.acquire('m', { expectedSeconds: 600 })).expiresAt).toBe(T0 + 12_000_000);
      expect((await gate.acquire('m', { expectedSeconds: 1 })).expiresAt).toBe(T0 + HOUR_MS);
    });

    it('resolves the limit from the argument, then limits, then defaultLimit', async () => {
      const limits = jest.fn((model: string) => (model === 'flux' ? 3 : undefined));
      const { gate } = setUp({ limits, defaultLimit: 5 });
      expect((await gate.acquire('flux')).limit).toBe(3);
      expect(limits).toHaveBeenCalledWith('flux');
      expect((await gate.acquire('sora')).limit).toBe(5);
      expect((await gate.acquire('flux', { limit: 1 })).limit).toBe(1);
      expect((await gate.acquire('flux', { limit: 0 })).limit).toBeNull();
    });

    it('records holders while unlimited, so they count once a limit is set', async () => {
      const { gate } = setUp();
      const free = await gate.acquire('flux', { taskId: 'a' });
      expect(free).toMatchObject({ acquired: true, limit: null, used: 1 });
      await gate.acquire('flux', { taskId: 'b', limit: 0 });
      const limited = await gate.acquire('flux', { taskId: 'c', limit: 2 });
      expect(limited).toMatchObject({ acquired: false, used: 2 });
    });

    it('reports the expired slots it reclaims', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 1 } });
      await gate.acquire('flux', { taskId: 'a', limit: 2 });
      await gate.acquire('flux', { taskId: 'b', limit: 2 });
      clock.now += 1_001;
      expect(gate.reclaimedLeases()).toBe(0);
      const result = await gate.acquire('flux', { taskId: 'c', limit: 2 });
      expect(result).toMatchObject({ acquired: true, used: 1, reclaimed: 2 });
      // Counted since the gate started, for the operator: releases that never came.
      expect(gate.reclaimedLeases()).toBe(2);
    });
  });

  describe('reacquire', () => {
    it('takes the slot again for a released task, and says "held" while it holds it', async () => {
      const { gate } = setUp({ defaultLimit: 1 });
      await gate.acquire('flux', { taskId: 't' });
      expect(await gate.release('flux', 't')).toBe(true);
      expect(await gate.reacquire('flux', 't')).toMatchObject({
        acquired: true,
        alreadyHeld: false,
        taskId: 't',
      });
      expect(await gate.reacquire('flux', 't')).toMatchObject({
        acquired: true,
        alreadyHeld: true,
      });
    });

    it('answers not acquired when the gate is full, and passes its options on', async () => {
      const { gate } = setUp({ defaultLimit: 1, lease: { minSeconds: 1, maxSeconds: 1000 } });
      await gate.acquire('flux', { taskId: 'other' });
      expect(await gate.reacquire('flux', 't')).toMatchObject({ acquired: false, taskId: 't' });
      const retried = await gate.reacquire('flux', 't', { limit: 2, expectedSeconds: 7 });
      expect(retried).toMatchObject({ acquired: true, limit: 2, expiresAt: T0 + 70_000 });
    });
  });

  describe('release', () => {
    it('frees the slot and says whether it was held, idempotently', async () => {
      const { gate } = setUp({ defaultLimit: 1 });
      await gate.acquire('flux', { taskId: 't' });
      expect(await gate.release('flux', 't')).toBe(true);
      expect(await gate.release('flux', 't')).toBe(false);
      expect(await gate.release('flux', 'never-held')).toBe(false);
      expect(await gate.acquire('flux', { taskId: 'next' })).toMatchObject({ acquired: true });
    });
  });

  describe('extend', () => {
    it('renews a live lease from now, never shortening it', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 10, maxSeconds: 1000 } });
      const { token } = await gate.acquire('flux', { taskId: 't', expectedSeconds: 50 });
      clock.now += 5_000;
      expect(await gate.extend('flux', 't', { expectedSeconds: 100 })).toBe(true);
      expect(await gate.holders('flux')).toEqual([
        { taskId: 't', expiresAt: T0 + 5_000 + 1e6, token, cost: 1, tenant: null },
      ]);
      expect(await gate.extend('flux', 't', { expectedSeconds: 1, token: token! })).toBe(true);
      expect(await gate.holders('flux')).toEqual([
        { taskId: 't', expiresAt: T0 + 5_000 + 1e6, token, cost: 1, tenant: null },
      ]);
    });

    it('reports a lease that is gone, and does not bring an expired one back', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 1 } });
      expect(await gate.extend('flux', 'unknown')).toBe(false);
      await gate.acquire('flux', { taskId: 't' });
      clock.now += 1_500;
      expect(await gate.extend('flux', 't')).toBe(false);
      expect(await gate.holders('flux')).toEqual([]);
      expect((await gate.usage('flux')).used).toBe(0);
    });
  });

  describe('usage', () => {
    it('gives used, limit and available', async () => {
      const { gate } = setUp({ limits: { flux: 3 } });
      await gate.acquire('flux', { taskId: 'a' });
      expect(await gate.usage('flux')).toEqual({
        model: 'flux',
        used: 1,
        holders: 1,
        waiting: 0,
        limit: 3,
        available: 2,
      });
    });

    it('gives null available when unlimited', async () => {
      const { gate } = setUp();
      await gate.acquire('free', { taskId: 'a' });
      expect(await gate.usage('free')).toEqual({
        model: 'free',
        holders: 1,
        waiting: 0,
        used: 1,
        limit: null,
        available: null,
      });
    });

    it('gives 0 available, never less, when the limit is lowered below the holders', async () => {
      let limit = 3;
      const { gate } = setUp({ limits: async () => Promise.resolve(limit) });
      for (const taskId of ['a', 'b', 'c']) await gate.acquire('flux', { taskId });
      limit = 1;
      expect(await gate.usage('flux')).toEqual({
        model: 'flux',
        used: 3,
        holders: 3,
        waiting: 0,
        limit: 1,
        available: 0,
      });
      // Nobody is admitted until holders leave.
      expect((await gate.acquire('flux', { taskId: 'd' })).acquired).toBe(false);
      await gate.release('flux', 'a');
      await gate.release('flux', 'b');
      expect((await gate.acquire('flux', { taskId: 'd' })).acquired).toBe(false);
      await gate.release('flux', 'c');
      expect((await gate.acquire('flux', { taskId: 'd' })).acquired).toBe(true);
    });

    it('ignores expired holders', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 1 }, defaultLimit: 2 });
      await gate.acquire('flux', { taskId: 'a' });
      clock.now += 2_000;
      expect(await gate.usage('flux')).toMatchObject({ used: 0, available: 2 });
    });
  });

  describe('holders', () => {
    it('lists live holders by task id with their tokens, soonest lease end first', async () => {
      const { gate, clock } = setUp({ lease: { multiplier: 1, minSeconds: 1, maxSeconds: 100 } });
      const long = await gate.acquire('flux', { taskId: 'long', expectedSeconds: 50 });
      const short = await gate.acquire('flux', { taskId: 'short', expectedSeconds: 2 });
      await gate.acquire('flux', { taskId: 'gone', expectedSeconds: 1 });
      await gate.acquire('other', { taskId: 'elsewhere' });
      clock.now += 1_000;
      expect(await gate.holders('flux')).toEqual([
        { taskId: 'short', expiresAt: T0 + 2_000, token: short.token, cost: 1, tenant: null },
        { taskId: 'long', expiresAt: T0 + 50_000, token: long.token, cost: 1, tenant: null },
      ]);
      expect(short.token).toBeGreaterThan(long.token!);
      expect(await gate.holders('empty')).toEqual([]);
    });
  });

  describe('reconcile', () => {
    it('makes the gate hold exactly the active tasks, keeping the leases it had', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 10, maxSeconds: 1000 } });
      const kept = await gate.acquire('flux', { taskId: 'kept', expectedSeconds: 100 });
      const stale = await gate.acquire('flux', { taskId: 'stale' });
      clock.now += 1_000;
      const result = await gate.reconcile('flux', ['kept', 'missing'], { expectedSeconds: 20 });
      expect(result).toEqual({ model: 'flux', added: 1, removed: 1, used: 2 });
      const holders = await gate.holders('flux');
      expect(holders).toEqual([
        {
          taskId: 'missing',
          expiresAt: T0 + 1_000 + 200_000,
          token: expect.any(Number),
          cost: 1,
          tenant: null,
        },
        { taskId: 'kept', expiresAt: T0 + 1_000_000, token: kept.token, cost: 1, tenant: null },
      ]);
      // The added holder is a new admission: its token is newer than any issued before.
      expect(holders[0].token).toBeGreaterThan(stale.token!);
    });

    it('removes only the removable holders when a removable list is given', async () => {
      const { gate } = setUp();
      for (const taskId of ['a', 'b', 'c']) await gate.acquire('flux', { taskId });
      const result = await gate.reconcile('flux', ['a'], { removable: ['b'] });
      expect(result).toEqual({ model: 'flux', added: 0, removed: 1, used: 2 });
      expect((await gate.holders('flux')).map((h) => h.taskId).sort()).toEqual(['a', 'c']);
    });

    it('empties a gate given no active tasks', async () => {
      const { gate } = setUp();
      await gate.acquire('flux', { taskId: 'a' });
      expect(await gate.reconcile('flux', [])).toEqual({
        model: 'flux',
        added: 0,
        removed: 1,
        used: 0,
      });
    });
  });

  describe('keepAlive', () => {
    it('renews the lease until stopped', async () => {
      const { gate, clock } = setUp({ lease: { multiplier: 1, minSeconds: 1, maxSeconds: 100 } });
      await gate.acquire('flux', { taskId: 't', expectedSeconds: 10 });
      const handle = gate.keepAlive('flux', 't', { expectedSeconds: 10, everySeconds: 0.01 });
      expect(handle.active).toBe(true);
      clock.now += 5_000;
      await waitFor(
        async () => (await gate.holders('flux'))[0]?.expiresAt === T0 + 15_000,
        2_000,
        'a renewal',
      );
      handle.stop();
      expect(handle.active).toBe(false);
      clock.now += 5_000;
      await sleep(40);
      expect((await gate.holders('flux'))[0]?.expiresAt).toBe(T0 + 15_000);
    });

    it('reports a lost lease to onLost, to onLeaseLost and in the log', async () => {
      const onLeaseLost = jest.fn();
      const onLost = jest.fn();
      const { gate, clock, logger } = setUp({ lease: { minSeconds: 1 }, onLeaseLost });
      await gate.acquire('flux', { taskId: 't' });
      const handle = gate.keepAlive('flux', 't', { everySeconds: 0.01, onLost });
      clock.now += 2_000;
      await waitFor(() => handle.lost, 2_000, 'the lease being found lost');
      expect(handle.active).toBe(false);
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(onLeaseLost).toHaveBeenCalledWith('flux', 't', undefined);
      expect(logger.warnings.some((w) => w.includes('"flux"') && w.includes('"t"'))).toBe(true);
    });

    it('stops when the task is released', async () => {
      const { gate } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      const handle = gate.keepAlive('flux', 't', { everySeconds: 60 });
      await gate.release('flux', 't');
      expect(handle.active).toBe(false);
      expect(handle.lost).toBe(false);
    });

    it('replaces an earlier keep-alive of the same task', async () => {
      const { gate } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      const first = gate.keepAlive('flux', 't', { everySeconds: 60 });
      const second = gate.keepAlive('flux', 't', { everySeconds: 60 });
      expect(first.active).toBe(false);
      expect(second.active).toBe(true);
    });

    it('is stopped by close', async () => {
      const { gate } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      const handle = gate.keepAlive('flux', 't', { everySeconds: 60 });
      await gate.close(0);
      expect(handle.active).toBe(false);
    });
  });

  describe('fencing tokens', () => {
    it('gives a reacquire a new token even while the old slot is held, still one slot', async () => {
      const { gate } = setUp({ defaultLimit: 1 });
      const first = await gate.acquire('flux', { taskId: 't' });
      const retry = await gate.reacquire('flux', 't');
      expect(retry).toMatchObject({ acquired: true, used: 1 });
      expect(retry.token).toBeGreaterThan(first.token!);
      expect((await gate.holders('flux')).map((h) => h.token)).toEqual([retry.token]);
    });

    it('keeps tokens increasing after the gate empties', async () => {
      const { gate } = setUp();
      const first = await gate.acquire('flux', { taskId: 't' });
      await gate.release('flux', 't');
      const again = await gate.acquire('flux', { taskId: 't' });
      expect(again.token).toBeGreaterThan(first.token!);
    });

    it('throws StaleTokenError naming model, task, token and current token on a stale release, and changes nothing', async () => {
      const { gate } = setUp({ defaultLimit: 1 });
      const first = await gate.acquire('flux', { taskId: 't' });
      const retry = await gate.reacquire('flux', 't');
      const before = await gate.holders('flux');

      const error = await rejectionOf(gate.release('flux', 't', { token: first.token! }));
      expect(error).toBeInstanceOf(StaleTokenError);
      expect(error).toBeInstanceOf(QueueGateError);
      expect(error).toMatchObject({
        model: 'flux',
        taskId: 't',
        operation: 'release',
        token: first.token,
        currentToken: retry.token,
      });
      expect(error.message).toContain('"flux"');
      expect(error.message).toContain('"t"');
      expect(error.message).toContain(String(first.token));
      expect(error.message).toContain(String(retry.token));
      expect(await gate.holders('flux')).toEqual(before);
      expect((await gate.acquire('flux', { taskId: 'other' })).acquired).toBe(false);

      // The retry's own token still frees it.
      expect(await gate.release('flux', 't', { token: retry.token! })).toBe(true);
      expect(await gate.holders('flux')).toEqual([]);
    });

    it('answers false to a fenced release of a task that holds nothing', async () => {
      const { gate } = setUp();
      const { token } = await gate.acquire('flux', { taskId: 't' });
      expect(await gate.release('flux', 't', { token: token! })).toBe(true);
      expect(await gate.release('flux', 't', { token: token! })).toBe(false);
    });

    it('throws StaleTokenError on an extend with a stale token, and leaves the lease alone', async () => {
      const { gate, clock } = setUp({ lease: { minSeconds: 10, maxSeconds: 1000 } });
      const first = await gate.acquire('flux', { taskId: 't' });
      const retry = await gate.reacquire('flux', 't');
      const before = await gate.holders('flux');
      clock.now += 5_000;

      const error = await rejectionOf(
        gate.extend('flux', 't', { token: first.token!, expectedSeconds: 100 }),
      );
      expect(error).toBeInstanceOf(StaleTokenError);
      expect(error).toMatchObject({
        operation: 'extend',
        token: first.token,
        currentToken: retry.token,
      });
      expect(await gate.holders('flux')).toEqual(before);
      expect(await gate.extend('flux', 't', { token: retry.token!, expectedSeconds: 100 })).toBe(
        true,
      );
    });

    it('stops a keep-alive whose token is stale as lost, calling onLost and onLeaseLost once', async () => {
      const onLeaseLost = jest.fn();
      const onLost = jest.fn();
      const { gate } = setUp({ onLeaseLost });
      const first = await gate.acquire('flux', { taskId: 't' });
      const retry = await gate.reacquire('flux', 't');
      const before = await gate.holders('flux');

      const handle = gate.keepAlive('flux', 't', {
        token: first.token!,
        everySeconds: 0.01,
        onLost,
      });
      await waitFor(() => handle.lost, 2_000, 'the stale lease being found lost');
      await sleep(40);
      expect(handle.active).toBe(false);
      expect(onLost).toHaveBeenCalledTimes(1);
      expect(onLeaseLost).toHaveBeenCalledTimes(1);
      expect(onLeaseLost).toHaveBeenCalledWith('flux', 't', first.token);
      // The newer admission is untouched.
      expect(await gate.holders('flux')).toEqual(before);
      expect(before[0].token).toBe(retry.token);
    });

    it('leaves the keep-alive of the newer admission running when a stale release is refused', async () => {
      const { gate } = setUp();
      const first = await gate.acquire('flux', { taskId: 't' });
      const retry = await gate.reacquire('flux', 't');
      const handle = gate.keepAlive('flux', 't', { token: retry.token!, everySeconds: 60 });

      await expect(gate.release('flux', 't', { token: first.token! })).rejects.toBeInstanceOf(
        StaleTokenError,
      );
      // "Nothing was changed": the retry's lease must keep being renewed.
      expect(handle.active).toBe(true);
      handle.stop();
    });
  });

  describe('input limits', () => {
    it('keeps apart the keep-alives of pairs that would collide joined with \\u0000', async () => {
      const { gate } = setUp();
      await gate.acquire('a', { taskId: 'b\u0000c' });
      await gate.acquire('a\u0000b', { taskId: 'c' });
      const first = gate.keepAlive('a', 'b\u0000c', { everySeconds: 60 });
      const second = gate.keepAlive('a\u0000b', 'c', { everySeconds: 60 });
      expect(first.active).toBe(true);
      expect(second.active).toBe(true);
      // Releasing one stops only its own keep-alive.
      await gate.release('a\u0000b', 'c');
      expect(second.active).toBe(false);
      expect(first.active).toBe(true);
      first.stop();
    });

    it('refuses a keep-alive period above the timer limit, even under a longer lease', () => {
      const { gate } = setUp({ lease: { minSeconds: 300 * DAY_S, maxSeconds: 300 * DAY_S } });
      const error = thrownBy(() =>
        gate.keepAlive('m', 't', { everySeconds: (MAX_TIMER_MS + 1) / 1000 }),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('everySeconds');
      expect(error.message).toContain(String(MAX_TIMER_MS / 1000));
      gate.keepAlive('m', 't', { everySeconds: MAX_TIMER_MS / 1000 }).stop();
    });

    it('refuses a keep-alive period as long as the lease or longer', () => {
      const { gate } = setUp({ lease: { multiplier: 10, minSeconds: 10, maxSeconds: 1000 } });
      for (const everySeconds of [10, 11, 3600]) {
        const error = thrownBy(() => gate.keepAlive('m', 't', { everySeconds }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe('everySeconds');
        expect(error.message).toContain('shorter than the lease (10 s)');
      }
      // The lease is the one the keep-alive renews: 5 s expected make a 50 s lease.
      expect(() =>
        gate.keepAlive('m', 't', { everySeconds: 49, expectedSeconds: 5 }),
      ).not.toThrow();
      expect(() => gate.keepAlive('m', 't', { everySeconds: 50, expectedSeconds: 5 })).toThrow(
        InvalidArgumentError,
      );
      gate.keepAlive('m', 't', { everySeconds: 9.99 }).stop();
    });

    it('clamps the default renewal period of a very long lease to the timer limit', async () => {
      jest.useFakeTimers({ now: T0 });
      try {
        const { store, gate } = setUp({
          lease: { minSeconds: 300 * DAY_S, maxSeconds: 300 * DAY_S },
        });
        const extend = jest.spyOn(store, 'extend');
        await gate.acquire('m', { taskId: 't' });
        const handle = gate.keepAlive('m', 't');
        // A third of 300 days is past Node's timer limit: unclamped, it would fire at once.
        await jest.advanceTimersByTimeAsync(60_000);
        expect(extend).not.toHaveBeenCalled();
        await jest.advanceTimersByTimeAsync(MAX_TIMER_MS - 60_000);
        expect(extend).toHaveBeenCalledTimes(1);
        expect(handle.active).toBe(true);
        handle.stop();
      } finally {
        jest.useRealTimers();
      }
    });

    it('refuses a commandTimeoutMs above the timer limit, or not above 0', () => {
      const { store } = manualClock();
      for (const commandTimeoutMs of [MAX_TIMER_MS + 1, 2 ** 32, 1e15, 0, -1, NaN]) {
        const error = thrownBy(() => new QueueGate(store, { commandTimeoutMs }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.message).toContain('commandTimeoutMs');
      }
      expect(() => new QueueGate(store, { commandTimeoutMs: MAX_TIMER_MS })).not.toThrow();
    });

    it('refuses a lease.maxSeconds above 366 days', () => {
      const { store } = manualClock();
      for (const maxSeconds of [MAX_LEASE_MS / 1000 + 1, 1e14, Infinity]) {
        const error = thrownBy(() => new QueueGate(store, { lease: { maxSeconds } }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe('lease.maxSeconds');
        expect(error.message).toContain('366 days');
      }
      expect(() => new QueueGate(store, { lease: { maxSeconds: 366 * DAY_S } })).not.toThrow();
    });
  });

  describe('bad input', () => {
    const BAD_TOKENS: [string, number][] = [
      ['0', 0],
      ['negative', -5],
      ['fractional', 1.5],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['past the safe integers', 2 ** 53],
      ['a string', '7' as unknown as number],
      ['null', null as unknown as number],
    ];

    function withSpiedStore() {
      const { store } = manualClock();
      const spies = (
        ['acquire', 'release', 'extend', 'usage', 'holders', 'reconcile'] as const
      ).map((method) => jest.spyOn(store, method));
      const { gate } = gateOn(store);
      gates.push(gate);
      return { gate, untouched: () => spies.every((spy) => spy.mock.calls.length === 0) };
    }

    it.each<[string, (gate: QueueGate) => Promise<unknown>, new (...a: any[]) => Error, string]>([
      ['acquire with an empty model', (g) => g.acquire(''), InvalidModelNameError, 'model'],
      ['acquire with a braced model', (g) => g.acquire('a{b}'), InvalidModelNameError, 'model'],
      [
        'acquire with an empty task id',
        (g) => g.acquire('m', { taskId: '' }),
        InvalidTaskIdError,
        'taskId',
      ],
      [
        'acquire with negative expectedSeconds',
        (g) => g.acquire('m', { expectedSeconds: -1 }),
        InvalidExpectedSecondsError,
        'expectedSeconds',
      ],
      [
        'acquire with a fractional limit',
        (g) => g.acquire('m', { limit: 1.5 }),
        InvalidLimitError,
        'limit for model "m" (from the limit argument)',
      ],
      [
        'reacquire with a long task id',
        (g) => g.reacquire('m', 'x'.repeat(257)),
        InvalidTaskIdError,
        'taskId',
      ],
      ['release with a bad model', (g) => g.release('', 't'), InvalidModelNameError, 'model'],
      ['release with a bad task id', (g) => g.release('m', ''), InvalidTaskIdError, 'taskId'],
      [
        'extend with NaN seconds',
        (g) => g.extend('m', 't', { expectedSeconds: NaN }),
        InvalidExpectedSecondsError,
        'expectedSeconds',
      ],
      ['usage with a bad model', (g) => g.usage('{m'), InvalidModelNameError, 'model'],
      ['holders with a bad model', (g) => g.holders(''), InvalidModelNameError, 'model'],
      [
        'reconcile with a non-array',
        (g) => g.reconcile('m', 'a,b' as unknown as string[]),
        InvalidArgumentError,
        'activeTaskIds',
      ],
      [
        'reconcile with a bad task id',
        (g) => g.reconcile('m', ['ok', '']),
        InvalidTaskIdError,
        'taskId',
      ],
      [
        'reconcile with a bad removable list',
        (g) => g.reconcile('m', [], { removable: 'a' as unknown as string[] }),
        InvalidArgumentError,
        'removable',
      ],
      [
        'reconcile with a removable token of 0',
        (g) => g.reconcile('m', [], { removable: [{ taskId: 'a', token: 0 }] }),
        InvalidArgumentError,
        'token',
      ],
      [
        'acquire with a lone high surrogate in the model',
        (g) => g.acquire('\uD800x'),
        InvalidModelNameError,
        'model',
      ],
      [
        'acquire with a lone low surrogate in the task id',
        (g) => g.acquire('m', { taskId: 'x\uDC00' }),
        InvalidTaskIdError,
        'taskId',
      ],
      [
        'reacquire with a lone surrogate in the task id',
        (g) => g.reacquire('m', '\uD800x'),
        InvalidTaskIdError,
        'taskId',
      ],
      [
        'release with a lone surrogate in the model',
        (g) => g.release('x\uDC00', 't'),
        InvalidModelNameError,
        'model',
      ],
      [
        'reconcile with a lone surrogate in an active task id',
        (g) => g.reconcile('m', ['\uDBFF']),
        InvalidTaskIdError,
        'taskId',
      ],
      ...BAD_TOKENS.flatMap(
        ([label, token]): [
          string,
          (g: QueueGate) => Promise<unknown>,
          new (...a: any[]) => Error,
          string,
        ][] => [
          [
            `release with a token that is ${label}`,
            (g) => g.release('m', 't', { token }),
            InvalidArgumentError,
            'token',
          ],
          [
            `extend with a token that is ${label}`,
            (g) => g.extend('m', 't', { token }),
            InvalidArgumentError,
            'token',
          ],
        ],
      ),
    ])('rejects %s before reaching the store', async (_, call, type, named) => {
      const { gate, untouched } = withSpiedStore();
      const error = await rejectionOf(call(gate));
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(QueueGateError);
      expect(error.message).toContain(`Invalid ${named}`);
      expect(untouched()).toBe(true);
    });

    it('rejects bad keep-alive options at once', () => {
      const { gate } = withSpiedStore();
      expect(() => gate.keepAlive('m', 't', { everySeconds: -1 })).toThrow(InvalidArgumentError);
      expect(() => gate.keepAlive('m', 't', { everySeconds: -1 })).toThrow(/everySeconds/);
      expect(() => gate.keepAlive('m', 't', { expectedSeconds: -1 })).toThrow(
        InvalidExpectedSecondsError,
      );
      // 0 would renew in a busy loop; it is refused rather than read as "the default".
      expect(() => gate.keepAlive('m', 't', { everySeconds: 0 })).toThrow(/everySeconds: 0/);
      expect(() => gate.keepAlive('m', '')).toThrow(InvalidTaskIdError);
    });

    it('refuses a keep-alive with a token that is not a positive safe integer, at once', () => {
      const { gate, untouched } = withSpiedStore();
      for (const [, token] of BAD_TOKENS) {
        const error = thrownBy(() => gate.keepAlive('m', 't', { token, everySeconds: 60 }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe('token');
      }
      expect(untouched()).toBe(true);
    });

    it('refuses a keep-alive with a lone surrogate in the model or the task id, naming it', () => {
      const { gate } = withSpiedStore();
      const model = thrownBy(() => gate.keepAlive('\uD800x', 't'));
      expect(model).toBeInstanceOf(InvalidModelNameError);
      expect((model as InvalidModelNameError).value).toBe('\uD800x');
      const task = thrownBy(() => gate.keepAlive('m', 'x\uDC00'));
      expect(task).toBeInstanceOf(InvalidTaskIdError);
      expect((task as InvalidTaskIdError).value).toBe('x\uDC00');
    });

    it('accepts well-formed surrogate pairs in models and task ids, as distinct holders', async () => {
      const { gate } = setUp();
      expect(await gate.acquire('😀', { taskId: '😀', limit: 2 })).toMatchObject({
        acquired: true,
      });
      expect(await gate.acquire('😀', { taskId: '😁', limit: 2 })).toMatchObject({
        acquired: true,
        alreadyHeld: false,
        used: 2,
      });
      expect(await gate.release('😀', '😀')).toBe(true);
    });

    it('passes a bad limit from the limits function through as InvalidLimitError', async () => {
      const { store } = manualClock();
      const { gate } = gateOn(store, { limits: () => -4 });
      gates.push(gate);
      const error = await rejectionOf(gate.acquire('flux'));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('model "flux" (from the limits option)');
    });

    it('rejects a bad defaultLimit when it is used', async () => {
      const { store } = manualClock();
      const { gate } = gateOn(store, { defaultLimit: -1 });
      gates.push(gate);
      const error = await rejectionOf(gate.acquire('flux'));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('(from the defaultLimit option)');
    });
  });

  it('answers unavailable, with the cause, when the limits function fails', async () => {
    const failure = new Error('limits table unreachable');
    const { gate } = setUp({ limits: () => Promise.reject(failure) });
    for (const [operation, call] of [
      ['acquire', () => gate.acquire('flux')],
      ['usage', () => gate.usage('flux')],
    ] as const) {
      const error = await rejectionOf(call());
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).operation).toBe(operation);
      expect((error as GateUnavailableError).model).toBe('flux');
      expect(error.cause).toBe(failure);
      expect(error.message).toContain('limits table unreachable');
    }
  });
});

describe('QueueGate when the store fails', () => {
  let gates: QueueGate[] = [];
  afterEach(async () => {
    await Promise.all(gates.map((gate) => gate.close(0)));
    gates = [];
  });

  function setUp(config: QueueGateConfig = {}) {
    const store = new FaultyStore();
    const { gate, logger } = gateOn(store, {
      commandTimeoutMs: 50,
      pendingReleases: { initialDelayMs: 5, maxDelayMs: 20 },
      ...config,
    });
    gates.push(gate);
    return { store, gate, logger };
  }

  const operations: [string, (gate: QueueGate) => Promise<unknown>][] = [
    ['acquire', (g) => g.acquire('flux', { taskId: 't' })],
    ['release', (g) => g.release('flux', 't')],
    ['extend', (g) => g.extend('flux', 't')],
    ['usage', (g) => g.usage('flux')],
    ['holders', (g) => g.holders('flux')],
    ['reconcile', (g) => g.reconcile('flux', ['t'])],
  ];

  it.each(operations)(
    '%s rejects with GateUnavailableError holding the cause',
    async (op, call) => {
      const { store, gate } = setUp();
      store.down = true;
      const error = await rejectionOf(call(gate));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(error).toBeInstanceOf(QueueGateError);
      expect(error.name).toBe('GateUnavailableError');
      expect((error as GateUnavailableError).operation).toBe(op);
      expect((error as GateUnavailableError).model).toBe('flux');
      expect(error.cause).toBeInstanceOf(Error);
      expect((error.cause as Error).message).toBe(`connect ECONNREFUSED (${op})`);
      expect(error.message).toContain('"flux"');
      expect(error.message).toContain(`connect ECONNREFUSED (${op})`);
    },
  );

  it.each(operations)(
    '%s rejects within commandTimeoutMs when the store hangs',
    async (op, call) => {
      const { store, gate } = setUp();
      store.stall();
      const started = Date.now();
      const error = await rejectionOf(call(gate));
      const took = Date.now() - started;
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).operation).toBe(op);
      expect(error.cause).toBeInstanceOf(DeadlineExceededError);
      expect(error.message).toContain('no answer within 50 ms');
      expect(took).toBeGreaterThanOrEqual(40);
      expect(took).toBeLessThan(2_000);
      store.resume();
    },
  );

  it(`waits ${DEFAULT_COMMAND_TIMEOUT_MS} ms by default`, async () => {
    jest.useFakeTimers();
    try {
      const store = new FaultyStore();
      const gate = new QueueGate(store);
      store.stall();
      let settled: unknown;
      gate.usage('flux').then(
        () => (settled = 'resolved'),
        (error: unknown) => (settled = error),
      );
      await jest.advanceTimersByTimeAsync(DEFAULT_COMMAND_TIMEOUT_MS - 1);
      expect(settled).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      expect(settled).toBeInstanceOf(GateUnavailableError);
      store.resume();
      await gate.close(0);
    } finally {
      jest.useRealTimers();
    }
  });

  describe('a failed release', () => {
    it('is queued, reported as queued, and lands once the store is back', async () => {
      const { store, gate, logger } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      store.down = true;
      const error = await rejectionOf(gate.release('flux', 't'));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).releaseQueued).toBe(true);
      expect((error as GateUnavailableError).operation).toBe('release');
      expect(error.message).toContain('queued');
      expect(gate.pendingReleases()).toEqual({ queued: 1, dropped: 0, stale: 0, undelivered: 0 });
      expect(logger.warnings.some((w) => w.includes('"t"'))).toBe(true);

      await sleep(30);
      expect(await store.held('flux')).toEqual(['t']);
      store.down = false;
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the release landing');
      expect(await store.held('flux')).toEqual([]);
      expect(logger.logs).toContain('1 queued gate release(s) landed.');
    });

    it('is also queued when the store hangs, and lands after it answers', async () => {
      const { store, gate } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      store.stall();
      const error = await rejectionOf(gate.release('flux', 't'));
      expect((error as GateUnavailableError).releaseQueued).toBe(true);
      store.resume();
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the release landing');
      expect(await store.held('flux')).toEqual([]);
    });

    it('is delivered by close, which returns 0 when all landed', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      await gate.acquire('flux', { taskId: 't' });
      store.down = true;
      await rejectionOf(gate.release('flux', 't'));
      store.down = false;
      await expect(gate.close(1_000)).resolves.toBe(0);
      expect(await store.held('flux')).toEqual([]);
    });

    it('is counted and logged by close when it cannot be delivered in time', async () => {
      const { store, gate, logger } = setUp();
      await gate.acquire('flux', { taskId: 'a' });
      await gate.acquire('flux', { taskId: 'b' });
      store.down = true;
      await rejectionOf(gate.release('flux', 'a'));
      await rejectionOf(gate.release('flux', 'b'));
      await expect(gate.close(60)).resolves.toBe(2);
      expect(logger.errors.some((e) => e.startsWith('2 gate release(s)'))).toBe(true);
      expect(gate.pendingReleases().queued).toBe(2);
    });

    it('drops the oldest past pendingReleases.maxSize, and counts it', async () => {
      const { store, gate } = setUp({ pendingReleases: { maxSize: 1, initialDelayMs: 60_000 } });
      store.down = true;
      await rejectionOf(gate.release('flux', 'a'));
      await rejectionOf(gate.release('flux', 'b'));
      expect(gate.pendingReleases()).toEqual({ queued: 1, dropped: 1, stale: 0, undelivered: 0 });
    });
  });

  describe('an acquire that timed out', () => {
    it('is undone by a queued release fenced to that very call when its task id was generated', async () => {
      const { store, gate } = setUp();
      store.stall();
      const error = await rejectionOf(gate.acquire('flux'));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).operation).toBe('acquire');
      expect(gate.pendingReleases().queued).toBe(1);

      // The store answers again: the late acquire runs first, then the queued release undoes it.
      store.resume();
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the compensation');
      expect(await store.held('flux')).toEqual([]);
      const acquired = store.requestsOf<AcquireRequest>('acquire');
      const released = store.requestsOf<ReleaseRequest>('release');
      expect(acquired).toHaveLength(1);
      expect(released.length).toBeGreaterThan(0);
      for (const release of released) {
        expect(release).toMatchObject({
          gate: 'flux',
          holder: acquired[0].holder,
          fence: { attempt: acquired[0].attempt },
        });
      }
    });

    it('is undone for a caller-supplied task id too, once the held call lands', async () => {
      const { store, gate } = setUp();
      store.stall();
      const error = await rejectionOf(gate.acquire('flux', { taskId: 'mine', limit: 1 }));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).operation).toBe('acquire');
      expect(gate.pendingReleases().queued).toBe(1);

      store.resume();
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the undo landing');
      expect(await store.held('flux')).toEqual([]);
      expect((await gate.usage('flux')).used).toBe(0);
      const [acquired] = store.requestsOf<AcquireRequest>('acquire');
      expect(store.requestsOf<ReleaseRequest>('release')[0]).toMatchObject({
        gate: 'flux',
        holder: 'mine',
        fence: { attempt: acquired.attempt },
      });
      // The slot is free again for someone else.
      expect(await gate.acquire('flux', { taskId: 'other', limit: 1 })).toMatchObject({
        acquired: true,
      });
    });

    it('is undone for a reacquire (a retry) that timed out', async () => {
      const { store, gate } = setUp();
      store.stall();
      const error = await rejectionOf(gate.reacquire('flux', 'retried', { limit: 1 }));
      expect((error as GateUnavailableError).operation).toBe('acquire');
      expect(gate.pendingReleases().queued).toBe(1);

      store.resume();
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the undo landing');
      expect((await gate.usage('flux')).used).toBe(0);
      const [acquired] = store.requestsOf<AcquireRequest>('acquire');
      expect(acquired).toMatchObject({ holder: 'retried', renew: true });
      expect(store.requestsOf<ReleaseRequest>('release')[0]).toMatchObject({
        holder: 'retried',
        fence: { attempt: acquired.attempt },
      });
    });

    it('does not free the existing slot when it was a duplicate acquire of a held task', async () => {
      const { store, gate } = setUp();
      const first = await gate.acquire('flux', { taskId: 't', limit: 1 });
      store.stall();
      const error = await rejectionOf(gate.acquire('flux', { taskId: 't', limit: 1 }));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(gate.pendingReleases().queued).toBe(1);

      store.resume();
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the undo landing');
      // The undo was fenced to the duplicate call, which admitted nothing new: it lands stale.
      expect(gate.pendingReleases()).toEqual({ queued: 0, dropped: 0, stale: 1, undelivered: 0 });
      expect(await gate.holders('flux')).toMatchObject([{ taskId: 't', token: first.token }]);
    });

    it('is undone when the store refused it too', async () => {
      const { store, gate } = setUp();
      store.down = true;
      await rejectionOf(gate.acquire('flux'));
      expect(gate.pendingReleases().queued).toBe(1);
      store.down = false;
      await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the compensation');
    });
  });

  describe('a release in flight when the task is acquired again', () => {
    it.each(['acquire', 'reacquire'] as const)(
      'is not queued when unfenced and it then fails (%s), and says releaseQueued false',
      async (again) => {
        const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
        await gate.acquire('flux', { taskId: 't', limit: 1 });
        const held = store.holdNext('release');
        const releasing = rejectionOf(gate.release('flux', 't'));
        await held.arrived;

        // A retry of the task takes the slot again while the old release is still in flight.
        const retry =
          again === 'acquire'
            ? await gate.acquire('flux', { taskId: 't', limit: 1 })
            : await gate.reacquire('flux', 't', { limit: 1 });
        expect(retry.acquired).toBe(true);
        held.fail();

        const error = await releasing;
        expect(error).toBeInstanceOf(GateUnavailableError);
        expect((error as GateUnavailableError).releaseQueued).toBe(false);
        expect(error.message).not.toMatch(/queued|retried/);
        expect(gate.pendingReleases()).toEqual({
          queued: 0,
          dropped: 0,
          stale: 0,
          undelivered: 0,
        });
        // close delivers whatever is queued: a queued unfenced release would free the retry here.
        await expect(gate.close(500)).resolves.toBe(0);
        expect(await gate.holders('flux')).toMatchObject([{ taskId: 't', token: retry.token }]);
      },
    );

    it('is queued after all when the acquire that displaced it fails too', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      await gate.acquire('flux', { taskId: 't', limit: 1 });
      const heldRelease = store.holdNext('release');
      const releasing = rejectionOf(gate.release('flux', 't'));
      await heldRelease.arrived;

      // The retry's acquire is cut off as well: neither reached the store.
      const heldAcquire = store.holdNext('acquire');
      const retrying = rejectionOf(gate.reacquire('flux', 't', { limit: 1 }));
      await heldAcquire.arrived;
      heldRelease.fail();
      expect(((await releasing) as GateUnavailableError).releaseQueued).toBe(false);
      heldAcquire.fail();
      expect(await retrying).toBeInstanceOf(GateUnavailableError);

      // The caller was told the retry failed, so the old slot is owed back: its release is
      // queued again (beside the retry's own undo) and lands.
      expect(gate.pendingReleases().queued).toBe(2);
      await expect(gate.close(500)).resolves.toBe(0);
      expect(await gate.holders('flux')).toEqual([]);
    });

    it('is queued when fenced and it then fails, and lands as stale without freeing the retry', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      const first = await gate.acquire('flux', { taskId: 't', limit: 1 });
      const held = store.holdNext('release');
      const releasing = rejectionOf(gate.release('flux', 't', { token: first.token! }));
      await held.arrived;
      const retry = await gate.reacquire('flux', 't', { limit: 1 });
      held.fail();

      const error = await releasing;
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect((error as GateUnavailableError).releaseQueued).toBe(true);
      expect(gate.pendingReleases().queued).toBe(1);

      await expect(gate.close(500)).resolves.toBe(0);
      expect(gate.pendingReleases()).toEqual({ queued: 0, dropped: 0, stale: 1, undelivered: 0 });
      expect(await gate.holders('flux')).toMatchObject([{ taskId: 't', token: retry.token }]);
      expect(store.requestsOf<ReleaseRequest>('release').at(-1)).toMatchObject({
        gate: 'flux',
        holder: 't',
        fence: { token: first.token },
      });
    });

    it('is queued as usual when unfenced and nothing acquired the task meanwhile', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      await gate.acquire('flux', { taskId: 't' });
      const held = store.holdNext('release');
      const releasing = rejectionOf(gate.release('flux', 't'));
      await held.arrived;
      // Another task's acquire does not supersede this release.
      await gate.acquire('flux', { taskId: 'other' });
      held.fail();
      expect(((await releasing) as GateUnavailableError).releaseQueued).toBe(true);
      expect(gate.pendingReleases().queued).toBe(1);
      await expect(gate.close(500)).resolves.toBe(0);
      expect(await store.held('flux')).toEqual(['other']);
    });
  });

  describe('after close', () => {
    it('does not report a release that fails after close as queued, and counts it as undelivered', async () => {
      const { store, gate, logger } = setUp();
      await gate.acquire('flux', { taskId: 't' });
      await gate.close(0);
      store.down = true;

      const error = await rejectionOf(gate.release('flux', 't'));
      expect(error).toBeInstanceOf(GateUnavailableError);
      expect(gate.pendingReleases()).toMatchObject({ queued: 0, undelivered: 1 });
      expect(logger.errors.some((line) => line.includes('"t"'))).toBe(true);
      // Nothing will retry it after shutdown: the error must not promise that it will.
      expect((error as GateUnavailableError).releaseQueued).toBe(false);
      expect(error.message).not.toMatch(/queued|retried/);
    });
  });

  it('is compensated when the store refused it too', async () => {
    const { store, gate } = setUp();
    store.down = true;
    await rejectionOf(gate.acquire('flux'));
    expect(gate.pendingReleases().queued).toBe(1);
    store.down = false;
    await waitFor(() => gate.pendingReleases().queued === 0, 2_000, 'the compensation');
  });

  describe('an acquire of a task whose release is queued', () => {
    it('cancels the queued release, so that it cannot free the new slot', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      await gate.acquire('flux', { taskId: 't' });
      store.down = true;
      await rejectionOf(gate.release('flux', 't'));
      expect(gate.pendingReleases().queued).toBe(1);

      store.down = false;
      const again = await gate.acquire('flux', { taskId: 't' });
      expect(again.acquired).toBe(true);
      expect(gate.pendingReleases().queued).toBe(0);
      // close delivers whatever is still queued: a release left behind would free the slot here.
      await expect(gate.close(500)).resolves.toBe(0);
      expect(await store.held('flux')).toEqual(['t']);
    });

    it('keeps the release queued when that acquire fails too', async () => {
      const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
      await gate.acquire('flux', { taskId: 't' });
      store.down = true;
      await rejectionOf(gate.release('flux', 't'));
      // A retry of the task while the store is still down: it must not lose the release; its
      // own possible admission is undone by a second release, fenced to that call.
      await rejectionOf(gate.reacquire('flux', 't'));
      expect(gate.pendingReleases().queued).toBe(2);

      store.down = false;
      await expect(gate.close(1_000)).resolves.toBe(0);
      expect(await store.held('flux')).toEqual([]);
    });
  });

  it('a successful release forgets a queued release of the same task', async () => {
    const { store, gate } = setUp({ pendingReleases: { initialDelayMs: 60_000 } });
    await gate.acquire('flux', { taskId: 't' });
    store.down = true;
    await rejectionOf(gate.release('flux', 't'));
    store.down = false;
    expect(await gate.release('flux', 't')).toBe(true);
    expect(gate.pendingReleases().queued).toBe(0);
  });
});
