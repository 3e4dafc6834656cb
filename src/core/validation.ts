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
  const problem = nameProblem(model);
  if (problem !== undefined) throw new InvalidModelNameError(model, problem);
  // Braces would change the Cluster hash tag of the gate's key.
  if ((model as string).includes('{') || (model as string).includes('}')) {
    throw new InvalidModelNameError(model, 'it must not contain "{" or "}"');
  }
}

/** Throws {@link InvalidTaskIdError} unless `taskId` can name a holder. */
export function assertTaskId(taskId: unknown): asserts taskId is string {
  const problem = nameProblem(taskId);
  if (problem !== undefined) throw new InvalidTaskIdError(taskId, problem);
}

/**
 * What keeps `value` from naming a gate, a holder or a tenant, or undefined: a name is a
 * non-empty, well-formed string of at most {@link MAX_NAME_LENGTH} characters.
 */
function nameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'it must be a string';
  if (value.length === 0) return 'it must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `it must be at most ${MAX_NAME_LENGTH} characters`;
  if (hasLoneSurrogate(value)) return WELL_FORMED;
  return undefined;
}

const WELL_FORMED = 'it must be well-formed UTF-16 (no lone surrogate)';

/**
 * True when `text` holds a surrogate without its pair. Redis stores strings as UTF-8, where every
 * lone surrogate becomes the same replacement character: two such ids would share one slot.
 */
function hasLoneSurrogate(text: string): boolean {
  // ES2024, in every Node the package supports (20.19+); the typings target an older library.
  return !(text as unknown as { isWellFormed(): boolean }).isWellFormed();
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
  const problem = nameProblem(tenant);
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
