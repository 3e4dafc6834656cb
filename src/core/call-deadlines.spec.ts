import { CallDeadlines } from './call-deadlines';
import { DeadlineExceededError } from './deadline';

const never = () => new Promise<never>(() => undefined);
const after = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('CallDeadlines', () => {
  it('settles like the work when it answers in time', async () => {
    const deadlines = new CallDeadlines(200);
    await expect(deadlines.bound(after(5, 'ok'))).resolves.toBe('ok');
    await expect(deadlines.bound(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(deadlines.size).toBe(0);
  });

  it('rejects with DeadlineExceededError once the span passes, not before', async () => {
    const deadlines = new CallDeadlines(60);
    const started = performance.now();
    const error = await deadlines.bound(never()).catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).milliseconds).toBe(60);
    expect(took).toBeGreaterThanOrEqual(59);
    expect(deadlines.size).toBe(0);
  });

  it('maps both the timeout and the work failure through the failure function', async () => {
    const deadlines = new CallDeadlines(30);
    const wrap = (cause: unknown) => ({ wrapped: cause });
    await expect(deadlines.bound(never(), wrap)).rejects.toEqual({
      wrapped: expect.any(DeadlineExceededError),
    });
    const refused = new Error('refused');
    await expect(deadlines.bound(Promise.reject(refused), wrap)).rejects.toEqual({
      wrapped: refused,
    });
  });

  it('times out each call at its own deadline with one timer for all of them', async () => {
    const deadlines = new CallDeadlines(80);
    const started = performance.now();
    const ended: number[] = [];
    const calls = [0, 30, 60].map(async (delay) => {
      await after(delay, undefined);
      await deadlines.bound(never()).catch(() => ended.push(performance.now() - started - delay));
    });
    // A call that answers between them does not disturb the others' deadlines.
    const quick = after(40, undefined).then(() => deadlines.bound(after(5, 'fine')));
    await Promise.all([...calls, quick]);
    await expect(quick).resolves.toBe('fine');
    expect(ended).toHaveLength(3);
    for (const waited of ended) {
      expect(waited).toBeGreaterThanOrEqual(79);
      expect(waited).toBeLessThan(80 + 60);
    }
    expect(deadlines.size).toBe(0);
  });
});
