import { backoffDelayMs, fateOfFailedJob } from './job-fate';

describe('the fate of a failed job', () => {
  const base = { attemptsMade: 1, attempts: 3, backoffMs: 500 };

  it('keeps the slot of a job that will run again, over its backoff', () => {
    expect(fateOfFailedJob(base)).toEqual({ fate: 'keep', backoffMs: 500 });
  });

  it.each([
    ['no attempt is left', { ...base, attemptsMade: 3 }],
    ['the error is unrecoverable', { ...base, errorName: 'UnrecoverableError' }],
    ['BullMQ finished the job', { ...base, finishedOn: 1 }],
    ['the job had one attempt', { ...base, attempts: 1 }],
  ])('releases it when %s', (_, facts) => {
    expect(fateOfFailedJob(facts)).toEqual({ fate: 'release' });
  });

  it('computes fixed and exponential backoffs', () => {
    expect(backoffDelayMs(undefined, 1)).toBe(0);
    expect(backoffDelayMs(200, 3)).toBe(200);
    expect(backoffDelayMs({ type: 'fixed', delay: 300 }, 2)).toBe(300);
    expect(backoffDelayMs({ type: 'exponential', delay: 100 }, 1)).toBe(100);
    expect(backoffDelayMs({ type: 'exponential', delay: 100 }, 3)).toBe(400);
  });
});
