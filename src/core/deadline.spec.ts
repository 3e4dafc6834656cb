import { DeadlineExceededError, withDeadline } from './deadline';

function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

describe('withDeadline', () => {
  it('resolves with the work when it answers in time', async () => {
    await expect(withDeadline(after(5, 'done'), 1_000)).resolves.toBe('done');
  });

  it('rejects with the work’s own error when it fails in time', async () => {
    const failure = new Error('connection reset');
    await expect(withDeadline(Promise.reject(failure), 1_000)).rejects.toBe(failure);
  });

  it('rejects with DeadlineExceededError when the work takes longer', async () => {
    const started = Date.now();
    const error = await withDeadline(new Promise(() => {}), 30).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).milliseconds).toBe(30);
    expect((error as DeadlineExceededError).message).toBe('no answer within 30 ms');
    expect((error as DeadlineExceededError).name).toBe('DeadlineExceededError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('ignores a late answer once the deadline has passed', async () => {
    const late = after(60, 'late');
    await expect(withDeadline(late, 10)).rejects.toBeInstanceOf(DeadlineExceededError);
    // The work itself still runs to its end: the deadline does not cancel it.
    await expect(late).resolves.toBe('late');
  });

  it('clears its timer once the work settles', async () => {
    const clear = jest.spyOn(global, 'clearTimeout');
    try {
      await withDeadline(Promise.resolve(1), 60_000);
      expect(clear).toHaveBeenCalled();
    } finally {
      clear.mockRestore();
    }
  });

  it('does not keep the process alive while it waits', async () => {
    const set = jest.spyOn(global, 'setTimeout');
    try {
      const pending = withDeadline(Promise.resolve(1), 60_000);
      const timer = set.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      await pending;
    } finally {
      set.mockRestore();
    }
  });
});
