import { CapturedLogger } from '../../test/support/captured-logger';
import { sleep, waitFor } from '../../test/support/eventually';
import type { ReleaseReply } from './gate-store';
import {
  DEFAULT_PENDING_RELEASE_OPTIONS,
  type PendingRelease,
  PendingReleaseQueue,
  type PendingReleaseOptions,
} from './pending-release-queue';

/** The answer of a release that freed its slot. */
const LANDED: ReleaseReply = { released: true, stale: false, currentToken: null };

type Send = (release: PendingRelease) => Promise<ReleaseReply>;

/** A `send` that fails its first `failures` calls, then succeeds; it records every call. */
function flakySend(failures: number) {
  const calls: (PendingRelease & { at: number })[] = [];
  let left = failures;
  const send: Send = (release) => {
    calls.push({ ...release, at: Date.now() });
    if (left > 0) {
      left--;
      return Promise.reject(new Error('store unreachable'));
    }
    return Promise.resolve(LANDED);
  };
  return { send, calls };
}

/** A `send` that never answers. */
const hanging: Send = () => new Promise(() => {});

const FAST: PendingReleaseOptions = { maxSize: 100, initialDelayMs: 2, maxDelayMs: 10 };

function queueWith(send: Send, options: Partial<PendingReleaseOptions> = {}) {
  const logger = new CapturedLogger();
  const queue = new PendingReleaseQueue(send, { ...FAST, ...options }, logger);
  return { queue, logger };
}

describe('PendingReleaseQueue', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_PENDING_RELEASE_OPTIONS).toEqual({
      maxSize: 10_000,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
    });
  });

  describe('retrying', () => {
    it('retries a release until a flaky send succeeds, then forgets it', async () => {
      const { send, calls } = flakySend(3);
      const { queue, logger } = queueWith(send);
      queue.add('flux', 'task-1', undefined, new Error('ECONNREFUSED'));
      expect(queue.size).toBe(1);

      await waitFor(() => queue.size === 0, 2_000, 'the release landing');
      expect(calls).toHaveLength(4);
      expect(calls.every((call) => call.gate === 'flux' && call.holder === 'task-1')).toBe(true);
      expect(logger.logs).toEqual(['1 queued gate release(s) landed.']);

      // Landed means done: nothing is sent again.
      await sleep(40);
      expect(calls).toHaveLength(4);
    });

    it('makes the loss visible with one warning naming the gate, the holder and the cause', () => {
      const { queue, logger } = queueWith(hanging, { initialDelayMs: 60_000 });
      queue.add('flux', 'task-1', undefined, new Error('ECONNREFUSED'));
      queue.add('flux', 'task-2', undefined, new Error('ECONNREFUSED'));
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toContain('"flux"');
      expect(logger.warnings[0]).toContain('"task-1"');
      expect(logger.warnings[0]).toContain('ECONNREFUSED');
      queue.close();
    });

    it('retries only the releases that failed in a round', async () => {
      const attempts = new Map<string, number>();
      const send: Send = ({ holder }) => {
        attempts.set(holder, (attempts.get(holder) ?? 0) + 1);
        // "b" fails twice; the others land at once.
        return holder === 'b' && attempts.get(holder)! <= 2
          ? Promise.reject(new Error('timeout'))
          : Promise.resolve(LANDED);
      };
      const { queue } = queueWith(send);
      for (const holder of ['a', 'b', 'c']) queue.add('m', holder, undefined, 'down');

      await waitFor(() => queue.size === 0, 2_000, 'all releases landing');
      expect(attempts.get('a')).toBe(1);
      expect(attempts.get('c')).toBe(1);
      expect(attempts.get('b')).toBe(3);
    });

    it('delivers more releases than one batch', async () => {
      const { send, calls } = flakySend(0);
      const { queue, logger } = queueWith(send);
      for (let i = 0; i < 70; i++) queue.add('m', `t${i}`, undefined, 'down');

      await waitFor(() => queue.size === 0, 2_000, 'all releases landing');
      expect(new Set(calls.map((call) => call.holder)).size).toBe(70);
      expect(logger.logs).toEqual(['70 queued gate release(s) landed.']);
    });
  });

  describe('backoff', () => {
    afterEach(() => {
      jest.useRealTimers();
      jest.restoreAllMocks();
    });

    /** Gaps between successive send calls, under fake timers, for a send that always fails. */
    async function gapsWithRandom(random: number, rounds: number, options: PendingReleaseOptions) {
      jest.useFakeTimers();
      jest.spyOn(Math, 'random').mockReturnValue(random);
      const times: number[] = [];
      const start = Date.now();
      const queue = new PendingReleaseQueue(
        () => {
          times.push(Date.now() - start);
          return Promise.reject(new Error('down'));
        },
        options,
        new CapturedLogger(),
      );
      queue.add('m', 't', undefined, 'down');
      while (times.length < rounds) await jest.advanceTimersByTimeAsync(1);
      queue.close();
      return times.map((time, i) => time - (i === 0 ? 0 : times[i - 1]));
    }

    it('doubles the delay after every failed round, up to maxDelayMs', async () => {
      const gaps = await gapsWithRandom(0.999999, 8, {
        maxSize: 10,
        initialDelayMs: 10,
        maxDelayMs: 160,
      });
      expect(gaps).toEqual([10, 20, 40, 80, 160, 160, 160, 160]);
    });

    it('jitters each delay down to half its base', async () => {
      const gaps = await gapsWithRandom(0, 6, { maxSize: 10, initialDelayMs: 10, maxDelayMs: 80 });
      expect(gaps).toEqual([5, 10, 20, 40, 40, 40]);
    });

    it('starts over from initialDelayMs once a round succeeds', async () => {
      jest.useFakeTimers();
      jest.spyOn(Math, 'random').mockReturnValue(0.999999);
      let fail = 3;
      const times: number[] = [];
      const queue = new PendingReleaseQueue(
        () => {
          times.push(Date.now());
          return fail-- > 0 ? Promise.reject(new Error('down')) : Promise.resolve(LANDED);
        },
        { maxSize: 10, initialDelayMs: 10, maxDelayMs: 1_000 },
        new CapturedLogger(),
      );
      queue.add('m', 'first', undefined, 'down');
      while (queue.size > 0) await jest.advanceTimersByTimeAsync(1);
      expect(times).toHaveLength(4);

      const addedAt = Date.now();
      queue.add('m', 'second', undefined, 'down');
      while (times.length < 5) await jest.advanceTimersByTimeAsync(1);
      expect(times[4] - addedAt).toBe(10);
      queue.close();
    });
  });

  describe('deduplication', () => {
    it('keeps one release per gate and holder', () => {
      const { queue } = queueWith(hanging, { initialDelayMs: 60_000 });
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'a', undefined, 'down again');
      expect(queue.size).toBe(1);
      queue.add('other', 'a', undefined, 'down');
      queue.add('m', 'b', undefined, 'down');
      expect(queue.size).toBe(3);
      queue.close();
    });

    it('sends a duplicated release once per round', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send);
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'a', undefined, 'down');
      await waitFor(() => queue.size === 0, 2_000, 'the release landing');
      expect(calls).toHaveLength(1);
    });

    it('does not confuse a gate and holder that would join into the same text', () => {
      const { queue } = queueWith(hanging, { initialDelayMs: 60_000 });
      queue.add('a:b', 'c', undefined, 'down');
      queue.add('a', 'b:c', undefined, 'down');
      queue.add('a\u0000b', 'c', undefined, 'down');
      queue.add('a', 'b\u0000c', undefined, 'down');
      queue.add('a', 'b', { token: 1 }, 'down');
      queue.add('a', 'b#1', undefined, 'down');
      expect(queue.size).toBe(6);
      queue.close();
    });
  });

  describe('cancel', () => {
    it('takes a queued unfenced release out, returns it, and never sends it', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send, { initialDelayMs: 20 });
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'b', undefined, 'down');
      const taken = queue.cancel('m', 'a');
      expect(taken).toEqual([
        { gate: 'm', holder: 'a', fence: undefined, since: expect.any(Number) },
      ]);
      expect(queue.size).toBe(1);

      await waitFor(() => queue.size === 0, 2_000, 'the other release landing');
      await sleep(30);
      expect(calls.map((call) => call.holder)).toEqual(['b']);
    });

    it('returns nothing for a release that is not queued', () => {
      const { queue } = queueWith(() => Promise.resolve(LANDED));
      expect(queue.cancel('m', 'never-queued')).toEqual([]);
      queue.add('m', 'a', undefined, 'down');
      expect(queue.cancel('other-gate', 'a')).toEqual([]);
      expect(queue.size).toBe(1);
      queue.close();
    });

    it('leaves fenced releases of the holder queued, and sends them with their fences', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send, { initialDelayMs: 20 });
      queue.add('m', 'a', { token: 7 }, 'down');
      queue.add('m', 'a', { attempt: 'call-1' }, 'down');
      queue.add('m', 'a', undefined, 'down');
      const taken = queue.cancel('m', 'a');
      expect(taken.map((entry) => entry.fence)).toEqual([undefined]);
      expect(queue.size).toBe(2);

      await waitFor(() => queue.size === 0, 2_000, 'the fenced releases landing');
      await sleep(30);
      expect(calls.map((call) => call.fence)).toEqual([{ token: 7 }, { attempt: 'call-1' }]);
    });

    it('does not send an entry cancelled while an earlier batch of the same round is in flight', async () => {
      const sent: string[] = [];
      let openFirstBatch!: () => void;
      const firstBatchHeld = new Promise<void>((resolve) => (openFirstBatch = resolve));
      const send: Send = async ({ holder }) => {
        sent.push(holder);
        if (sent.length <= 32) await firstBatchHeld;
        return LANDED;
      };
      const { queue } = queueWith(send);
      // 40 releases: one round sends a first batch of 32, then the remaining 8.
      for (let i = 0; i < 40; i++) queue.add('m', `t${i}`, undefined, 'down');
      await waitFor(() => sent.length === 32, 2_000, 'the first batch going out');

      // t35 is in the second batch; its task acquires again while the first batch is in flight.
      expect(queue.cancel('m', 't35')).toHaveLength(1);
      openFirstBatch();

      await waitFor(() => queue.size === 0, 2_000, 'the round ending');
      await sleep(30);
      expect(sent).toHaveLength(39);
      expect(sent).not.toContain('t35');
    });

    it('keeps a release queued again while its earlier copy was in flight', async () => {
      const sent: string[] = [];
      let answer!: () => void;
      let held = true;
      const send: Send = async ({ holder }) => {
        sent.push(holder);
        if (held) {
          held = false;
          await new Promise<void>((resolve) => (answer = resolve));
        }
        return LANDED;
      };
      const { queue } = queueWith(send);
      queue.add('m', 'a', undefined, 'down');
      await waitFor(() => sent.length === 1, 2_000, 'the first send');

      // Taken out (an acquire) and queued again (its release failed) while the first copy flies.
      queue.cancel('m', 'a');
      queue.add('m', 'a', undefined, 'down again');
      answer();

      await waitFor(() => sent.length === 2, 2_000, 'the second copy being sent');
      await waitFor(() => queue.size === 0, 2_000, 'the second copy landing');
    });
  });

  describe('restore', () => {
    it('puts back what cancel took, to be sent again', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send, { initialDelayMs: 20 });
      queue.add('m', 'a', undefined, 'down');
      const taken = queue.cancel('m', 'a');
      expect(queue.size).toBe(0);
      queue.restore(taken, 'the acquire failed too');
      expect(queue.size).toBe(1);

      await waitFor(() => queue.size === 0, 2_000, 'the restored release landing');
      expect(calls.map((call) => call.holder)).toEqual(['a']);
    });
  });

  describe('fences', () => {
    it('keeps the same holder with two different fences as two releases', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send, { initialDelayMs: 20 });
      queue.add('m', 'a', { token: 1 }, 'down');
      queue.add('m', 'a', { token: 2 }, 'down');
      queue.add('m', 'a', { token: 1 }, 'down again');
      queue.add('m', 'a', { attempt: '1' }, 'down');
      queue.add('m', 'a', undefined, 'down');
      expect(queue.size).toBe(4);

      await waitFor(() => queue.size === 0, 2_000, 'all four landing');
      expect(calls.map((call) => call.fence)).toEqual([
        { token: 1 },
        { token: 2 },
        { attempt: '1' },
        undefined,
      ]);
    });

    it('counts a fenced release that lands as stale, and does not retry it', async () => {
      const calls: PendingRelease[] = [];
      const send: Send = (release) => {
        calls.push(release);
        return Promise.resolve({ released: false, stale: true, currentToken: 9 });
      };
      const { queue, logger } = queueWith(send);
      queue.add('m', 'a', { token: 8 }, 'down');

      await waitFor(() => queue.size === 0, 2_000, 'the stale release landing');
      await sleep(40);
      expect(calls).toHaveLength(1);
      expect(queue.stats()).toEqual({ queued: 0, dropped: 0, stale: 1, undelivered: 0 });
      expect(logger.logs).toEqual(['1 queued gate release(s) landed.']);
    });
  });

  describe('bound', () => {
    it('drops the oldest release past maxSize and logs an error naming it', async () => {
      const sent: string[] = [];
      let open = false;
      const send: Send = ({ holder }) => {
        if (!open) return Promise.reject(new Error('down'));
        sent.push(holder);
        return Promise.resolve(LANDED);
      };
      const { queue, logger } = queueWith(send, { maxSize: 3 });
      for (const holder of ['h1', 'h2', 'h3', 'h4', 'h5'])
        queue.add('flux', holder, undefined, 'down');

      expect(queue.size).toBe(3);
      expect(queue.stats().dropped).toBe(2);
      expect(logger.errors).toHaveLength(2);
      expect(logger.errors[0]).toContain('"flux"');
      expect(logger.errors[0]).toContain('"h1"');
      expect(logger.errors[0]).toContain('(3)');
      expect(logger.errors[1]).toContain('"h2"');

      open = true;
      await waitFor(() => queue.size === 0, 2_000, 'the kept releases landing');
      expect(sent.sort()).toEqual(['h3', 'h4', 'h5']);
      expect(queue.stats().dropped).toBe(2);
    });

    it('counts a re-added holder as the newest, not the oldest', () => {
      const { queue, logger } = queueWith(hanging, {
        maxSize: 2,
        initialDelayMs: 60_000,
      });
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'b', undefined, 'down');
      queue.cancel('m', 'a');
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'c', undefined, 'down');
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]).toContain('"b"');
      queue.close();
    });
  });

  describe('flush', () => {
    it('delivers everything at once and returns 0 when the store answers', async () => {
      const { send, calls } = flakySend(0);
      // A long backoff proves flush does not wait for the scheduled retry.
      const { queue } = queueWith(send, { initialDelayMs: 60_000, maxDelayMs: 60_000 });
      queue.add('m', 'a', undefined, 'down');
      queue.add('m', 'b', undefined, 'down');

      const started = Date.now();
      await expect(queue.flush(1_000)).resolves.toBe(0);
      expect(Date.now() - started).toBeLessThan(500);
      expect(calls.map((call) => call.holder).sort()).toEqual(['a', 'b']);
      expect(queue.size).toBe(0);
    });

    it('keeps retrying within the deadline', async () => {
      const { send, calls } = flakySend(2);
      const { queue } = queueWith(send, { initialDelayMs: 5, maxDelayMs: 5 });
      queue.add('m', 'a', undefined, 'down');
      await expect(queue.flush(2_000)).resolves.toBe(0);
      expect(calls).toHaveLength(3);
    });

    it('returns how many are left when the deadline passes first', async () => {
      const { queue } = queueWith(() => Promise.reject(new Error('down')), {
        initialDelayMs: 5,
        maxDelayMs: 10,
      });
      for (const holder of ['a', 'b', 'c']) queue.add('m', holder, undefined, 'down');

      const started = Date.now();
      await expect(queue.flush(80)).resolves.toBe(3);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(70);
      expect(took).toBeLessThan(1_000);
      expect(queue.size).toBe(3);
    });

    it('returns 0 at once for an empty queue', async () => {
      const send = jest.fn<Promise<ReleaseReply>, [PendingRelease]>(() => Promise.resolve(LANDED));
      const { queue } = queueWith(send);
      await expect(queue.flush(1_000)).resolves.toBe(0);
      expect(send).not.toHaveBeenCalled();
    });
  });

  describe('close', () => {
    it('stops the scheduled retries and keeps the releases queued', async () => {
      const { send, calls } = flakySend(0);
      const { queue } = queueWith(send, { initialDelayMs: 20 });
      queue.add('m', 'a', undefined, 'down');
      queue.close();
      await sleep(60);
      expect(calls).toHaveLength(0);
      expect(queue.size).toBe(1);
    });

    it('does not start retrying again when a round in flight ends after close', async () => {
      let calls = 0;
      const send = () => {
        calls++;
        return sleep(30).then(() => Promise.reject(new Error('down')));
      };
      const { queue } = queueWith(send, { initialDelayMs: 5, maxDelayMs: 5 });
      queue.add('m', 'a', undefined, 'down');
      await waitFor(() => calls === 1, 1_000, 'the first retry starting');
      queue.close();

      await sleep(120);
      expect(calls).toBe(1);
      expect(queue.size).toBe(1);
    });

    it('counts a release added after close as undelivered, logs it as an error and never sends it', async () => {
      const { send, calls } = flakySend(0);
      const { queue, logger } = queueWith(send, { initialDelayMs: 5 });
      queue.close();
      queue.add('flux', 'late', { token: 3 }, new Error('ECONNRESET'));
      queue.add('flux', 'later', undefined, new Error('ECONNRESET'));

      expect(queue.size).toBe(0);
      expect(queue.stats()).toEqual({ queued: 0, dropped: 0, stale: 0, undelivered: 2 });
      expect(logger.errors).toHaveLength(2);
      expect(logger.errors[0]).toContain('"flux"');
      expect(logger.errors[0]).toContain('"late"');
      expect(logger.errors[0]).toContain('ECONNRESET');
      // Nothing will retry it: the log must not say it will.
      for (const line of logger.errors) expect(line).not.toMatch(/retry|retried|queued/i);
      expect(logger.warnings).toEqual([]);

      await sleep(40);
      await expect(queue.flush(100)).resolves.toBe(0);
      expect(calls).toHaveLength(0);
    });

    it('counts releases restored after close as undelivered', () => {
      const { queue } = queueWith(hanging, { initialDelayMs: 60_000 });
      queue.add('m', 'a', undefined, 'down');
      const taken = queue.cancel('m', 'a');
      queue.close();
      queue.restore(taken, 'down');
      expect(queue.stats()).toEqual({ queued: 0, dropped: 0, stale: 0, undelivered: 1 });
    });
  });
});
