import { CapturedLogger } from '../../test/support/captured-logger';
import { LeaseKeepAlive } from './lease-keep-alive';

/** A keep-alive whose callbacks are recorded; `renew` decides each renewal's outcome. */
function keepAlive(renew: () => Promise<boolean>, everyMs = 100) {
  const logger = new CapturedLogger();
  const onLost = jest.fn();
  const onStop = jest.fn();
  const renewSpy = jest.fn(renew);
  const keeper = new LeaseKeepAlive({
    label: 'task "t" on gate "m"',
    renew: renewSpy,
    everyMs,
    onLost,
    onStop,
    logger,
  });
  return { keeper, renew: renewSpy, onLost, onStop, logger };
}

describe('LeaseKeepAlive', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('renews every everyMs while the lease is held', async () => {
    const { keeper, renew } = keepAlive(() => Promise.resolve(true), 100);
    expect(keeper.active).toBe(true);
    await jest.advanceTimersByTimeAsync(99);
    expect(renew).toHaveBeenCalledTimes(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(400);
    expect(renew).toHaveBeenCalledTimes(5);
    expect(keeper.active).toBe(true);
    expect(keeper.lost).toBe(false);
    keeper.stop();
  });

  it('stops renewing on stop(), and calls onStop once however often it is stopped', async () => {
    const { keeper, renew, onStop, onLost } = keepAlive(() => Promise.resolve(true), 100);
    await jest.advanceTimersByTimeAsync(250);
    expect(renew).toHaveBeenCalledTimes(2);

    keeper.stop();
    keeper.stop();
    expect(keeper.active).toBe(false);
    expect(keeper.lost).toBe(false);
    expect(onStop).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(2);
    expect(onLost).not.toHaveBeenCalled();
  });

  it('reports a lost lease once, stops, and renews no more', async () => {
    let held = 2;
    const { keeper, renew, onLost, onStop } = keepAlive(() => Promise.resolve(held-- > 0), 100);
    await jest.advanceTimersByTimeAsync(300);
    expect(renew).toHaveBeenCalledTimes(3);
    expect(keeper.lost).toBe(true);
    expect(keeper.active).toBe(false);
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(onStop).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(3);
    expect(onLost).toHaveBeenCalledTimes(1);
  });

  it('logs a renewal that cannot reach the store and tries again at the next tick', async () => {
    let failures = 2;
    const { keeper, renew, onLost, logger } = keepAlive(
      () => (failures-- > 0 ? Promise.reject(new Error('ETIMEDOUT')) : Promise.resolve(true)),
      100,
    );
    await jest.advanceTimersByTimeAsync(300);
    expect(renew).toHaveBeenCalledTimes(3);
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]).toContain('task "t" on gate "m"');
    expect(logger.warnings[0]).toContain('ETIMEDOUT');
    // An unreachable store says nothing about the lease: it is not reported lost.
    expect(keeper.lost).toBe(false);
    expect(keeper.active).toBe(true);
    expect(onLost).not.toHaveBeenCalled();
    keeper.stop();
  });

  it('never runs two renewals at once, even when one outlasts the period', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const { keeper, renew } = keepAlive(async () => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 250));
      running--;
      return true;
    }, 100);

    await jest.advanceTimersByTimeAsync(100);
    expect(renew).toHaveBeenCalledTimes(1);
    // The first renewal ends at 350 ms; the next one is due a period later, at 450 ms.
    await jest.advanceTimersByTimeAsync(349);
    expect(renew).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(mostAtOnce).toBe(1);
    keeper.stop();
  });

  it('ignores the answer of a renewal that ends after stop()', async () => {
    let answer!: (held: boolean) => void;
    const { keeper, renew, onLost } = keepAlive(
      () => new Promise<boolean>((resolve) => (answer = resolve)),
      100,
    );
    await jest.advanceTimersByTimeAsync(100);
    expect(renew).toHaveBeenCalledTimes(1);
    keeper.stop();
    answer(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(onLost).not.toHaveBeenCalled();
    expect(keeper.lost).toBe(false);
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it('does not log a failure of a renewal that ends after stop()', async () => {
    let fail!: (error: Error) => void;
    const { keeper, logger } = keepAlive(
      () => new Promise<boolean>((_, reject) => (fail = reject)),
      100,
    );
    await jest.advanceTimersByTimeAsync(100);
    keeper.stop();
    fail(new Error('ECONNRESET'));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(logger.warnings).toEqual([]);
  });
});

describe('LeaseKeepAlive timers', () => {
  it('do not keep the process alive', () => {
    const set = jest.spyOn(global, 'setTimeout');
    try {
      const { keeper } = keepAlive(() => Promise.resolve(true), 60_000);
      const timer = set.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      keeper.stop();
    } finally {
      set.mockRestore();
    }
  });
});
