import { InvalidExpectedSecondsError } from './errors/invalid-expected-seconds.error';
import { InvalidLimitError } from './errors/invalid-limit.error';
import { InvalidModelNameError } from './errors/invalid-model-name.error';
import { InvalidTaskIdError } from './errors/invalid-task-id.error';
import { InvalidArgumentError } from './errors/invalid-argument.error';
import { MAX_LIMIT, MAX_TIMER_MS } from './limits';

/** Longest model name or task id accepted, in characters. */
export const MAX_NAME_LENGTH = 256;

/** Throws {@link InvalidModelNameError} unless `model` can name a gate. */
export function assertModelName(model: unknown): asserts model is string {
  if (typeof model !== 'string') throw new InvalidModelNameError(model, 'it must be a string');
  if (model.length === 0) throw new InvalidModelNameError(model, 'it must not be empty');
  if (model.length > MAX_NAME_LENGTH) {
    throw new InvalidModelNameError(model, `it must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (hasLoneSurrogate(model)) throw new InvalidModelNameError(model, WELL_FORMED);
  // Braces would change the Cluster hash tag of the gate's key.
  if (model.includes('{') || model.includes('}')) {
    throw new InvalidModelNameError(model, 'it must not contain "{" or "}"');
  }
}

/** Throws {@link InvalidTaskIdError} unless `taskId` can name a holder. */
export function assertTaskId(taskId: unknown): asserts taskId is string {
  if (typeof taskId !== 'string') throw new InvalidTaskIdError(taskId, 'it must be a string');
  if (taskId.length === 0) throw new InvalidTaskIdError(taskId, 'it must not be empty');
  if (taskId.length > MAX_NAME_LENGTH) {
    throw new InvalidTaskIdError(taskId, `it must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (hasLoneSurrogate(taskId)) throw new InvalidTaskIdError(taskId, WELL_FORMED);
}

const WELL_FORMED = 'it must be well-formed UTF-16 (no lone surrogate)';

/**
 * True when `text` holds a surrogate without its pair. Redis stores strings as UTF-8, where every
 * lone surrogate becomes the same replacement character: two such ids would share one slot.
 */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Throws {@link InvalidLimitError} unless `limit` is an integer ≥ 0 or null. */
export function assertLimit(
  limit: unknown,
  source: string,
  model?: string,
): asserts limit is number | null {
  if (limit === null) return;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new InvalidLimitError(limit, source, model);
  }
}

/** Throws {@link InvalidExpectedSecondsError} unless `seconds` is a finite number ≥ 0. */
export function assertSeconds(
  seconds: unknown,
  argument = 'expectedSeconds',
): asserts seconds is number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidExpectedSecondsError(seconds, argument);
  }
}

/**
 * Throws {@link InvalidArgumentError} unless `seconds` is a period a timer can keep: a finite
 * number > 0 whose milliseconds Node's timers honour (at most 2^31-1 ms, about 24.8 days). A
 * longer delay would fire at once, every millisecond.
 */
export function assertPeriodSeconds(seconds: unknown, argument: string): asserts seconds is number {
  if (
    typeof seconds !== 'number' ||
    !Number.isFinite(seconds) ||
    seconds <= 0 ||
    seconds * 1000 > MAX_TIMER_MS
  ) {
    throw new InvalidArgumentError(
      argument,
      seconds,
      `it must be a number of seconds > 0 and at most ${MAX_TIMER_MS / 1000}`,
    );
  }
}

/** Throws {@link InvalidArgumentError} unless `tenant` can name a tenant (the rules of a task id). */
export function assertTenant(tenant: unknown): asserts tenant is string {
  const problem =
    typeof tenant !== 'string'
      ? 'it must be a string'
      : tenant.length === 0
        ? 'it must not be empty'
        : tenant.length > MAX_NAME_LENGTH
          ? `it must be at most ${MAX_NAME_LENGTH} characters`
          : hasLoneSurrogate(tenant)
            ? WELL_FORMED
            : undefined;
  if (problem !== undefined) throw new InvalidArgumentError('tenant', tenant, problem);
}

/** Throws {@link InvalidArgumentError} unless `cost` is an integer in [1, MAX_LIMIT]. */
export function assertCost(cost: unknown): asserts cost is number {
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1 || cost > MAX_LIMIT) {
    throw new InvalidArgumentError('cost', cost, `it must be an integer from 1 to ${MAX_LIMIT}`);
  }
}

/** Throws {@link InvalidArgumentError} unless `waitMs` is a number of ms ≥ 0 a timer can keep. */
export function assertWaitMs(waitMs: unknown): asserts waitMs is number {
  if (
    typeof waitMs !== 'number' ||
    !Number.isFinite(waitMs) ||
    waitMs < 0 ||
    waitMs > MAX_TIMER_MS
  ) {
    throw new InvalidArgumentError(
      'waitMs',
      waitMs,
      `it must be a number of ms from 0 to ${MAX_TIMER_MS}`,
    );
  }
}
