/**
 * Base class of every error this package throws on purpose, so that callers can tell a gate's
 * answer apart from a bug with one `instanceof`.
 */
export class QueueGateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
