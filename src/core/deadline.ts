/** Rejection reason of {@link withDeadline} when the deadline passes first. */
export class DeadlineExceededError extends Error {
  constructor(readonly milliseconds: number) {
    super(`no answer within ${milliseconds} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Settles like `work`, or rejects with {@link DeadlineExceededError} after `milliseconds`.
 * The work itself is not cancelled: a Redis command may still run later, which callers that
 * write must account for.
 */
export function withDeadline<T>(work: Promise<T>, milliseconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(milliseconds)), milliseconds);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
