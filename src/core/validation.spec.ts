import {
  InvalidArgumentError,
  InvalidExpectedSecondsError,
  InvalidLimitError,
  InvalidModelNameError,
  InvalidTaskIdError,
  QueueGateError,
} from './errors';
import { MAX_TIMER_MS } from './limits';
import {
  assertLimit,
  assertModelName,
  assertPeriodSeconds,
  assertSeconds,
  assertTaskId,
  MAX_NAME_LENGTH,
} from './validation';

/** Not well-formed UTF-16: Redis would store each of these as the same replacement character. */
const LONE_SURROGATES: [string, string][] = [
  ['a lone high surrogate before text', '\uD800x'],
  ['a lone low surrogate after text', 'x\uDC00'],
  ['a lone high surrogate at the end', 'gpu\uDBFF'],
  ['a reversed pair', '\uDE00\uD83D'],
  ['a lone surrogate after a well-formed pair', '\uD83D\uDE00\uD83D'],
];

/** Runs `check` and returns what it threw, failing the test when it threw nothing. */
function thrownBy(check: () => void): Error {
  try {
    check();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the check to throw');
}

describe('assertModelName', () => {
  it.each([
    'm',
    'gpt-4o',
    'image:flux/dev',
    'é模型',
    '😀',
    'img-😀-v2',
    'x'.repeat(MAX_NAME_LENGTH),
  ])('accepts %j', (model) => {
    expect(() => assertModelName(model)).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['an empty string', '', '"" (string of length 0)'],
    ['a name over 256 characters', 'x'.repeat(257), '(string of length 257)'],
    ['an opening brace', 'a{b', '"a{b"'],
    ['a closing brace', 'a}b', '"a}b"'],
    ['a hash tag', '{model}', '"{model}"'],
    ['a number', 42, '42 (number)'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
  ])('rejects %s with an error naming the argument and the value', (_, model, shown) => {
    const error = thrownBy(() => assertModelName(model));
    expect(error).toBeInstanceOf(InvalidModelNameError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(QueueGateError);
    expect(error.name).toBe('InvalidModelNameError');
    expect(error.message).toMatch(/^Invalid model: /);
    expect(error.message).toContain(shown);
    expect((error as InvalidModelNameError).argument).toBe('model');
    expect((error as InvalidModelNameError).value).toBe(model);
  });

  it('says which rule a name broke', () => {
    expect(thrownBy(() => assertModelName('')).message).toContain('must not be empty');
    expect(thrownBy(() => assertModelName('y'.repeat(300))).message).toContain(
      `at most ${MAX_NAME_LENGTH} characters`,
    );
    expect(thrownBy(() => assertModelName('a{b')).message).toContain('"{" or "}"');
  });

  it.each(LONE_SURROGATES)('refuses a name holding %s, naming the value', (_, model) => {
    const error = thrownBy(() => assertModelName(model));
    expect(error).toBeInstanceOf(InvalidModelNameError);
    expect((error as InvalidModelNameError).value).toBe(model);
    expect(error.message).toContain(`(string of length ${model.length})`);
    expect(error.message).toContain('well-formed UTF-16');
  });

  it('shortens a very long value in the message but gives its length', () => {
    const error = thrownBy(() => assertModelName('z'.repeat(1000)));
    expect(error.message).toContain('(string of length 1000)');
    expect(error.message.length).toBeLessThan(300);
  });
});

describe('assertTaskId', () => {
  it.each([
    't',
    'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    '{braces-are-fine}',
    '😀',
    'task-\u{1F680}',
    'x'.repeat(256),
  ])('accepts %j', (taskId) => {
    expect(() => assertTaskId(taskId)).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['an empty string', '', '"" (string of length 0)'],
    ['an id over 256 characters', 'x'.repeat(257), '(string of length 257)'],
    ['a number', 7, '7 (number)'],
    ['an object', { id: 'a' }, 'an object'],
  ])('rejects %s with an error naming the argument and the value', (_, taskId, shown) => {
    const error = thrownBy(() => assertTaskId(taskId));
    expect(error).toBeInstanceOf(InvalidTaskIdError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/^Invalid taskId: /);
    expect(error.message).toContain(shown);
    expect((error as InvalidTaskIdError).argument).toBe('taskId');
    expect((error as InvalidTaskIdError).value).toBe(taskId);
  });
  it.each(LONE_SURROGATES)('refuses an id holding %s, naming the value', (_, taskId) => {
    const error = thrownBy(() => assertTaskId(taskId));
    expect(error).toBeInstanceOf(InvalidTaskIdError);
    expect((error as InvalidTaskIdError).value).toBe(taskId);
    expect(error.message).toMatch(/^Invalid taskId: /);
    expect(error.message).toContain('well-formed UTF-16');
  });
});

describe('assertPeriodSeconds', () => {
  it.each([0.001, 1, 3600, MAX_TIMER_MS / 1000])('accepts %p', (seconds) => {
    expect(() => assertPeriodSeconds(seconds, 'everySeconds')).not.toThrow();
  });

  it.each<[string, unknown]>([
    ['zero', 0],
    ['a negative number', -1],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['one millisecond past the timer limit', (MAX_TIMER_MS + 1) / 1000],
    ['a year', 365 * 24 * 3600],
    ['a string', '10'],
  ])('refuses %s, naming the argument and the timer limit', (_, seconds) => {
    const error = thrownBy(() => assertPeriodSeconds(seconds, 'everySeconds'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('everySeconds');
    expect((error as InvalidArgumentError).value).toBe(seconds);
    expect(error.message).toMatch(/^Invalid everySeconds: /);
    expect(error.message).toContain(`at most ${MAX_TIMER_MS / 1000}`);
  });
});

describe('assertLimit', () => {
  it.each([null, 0, 1, 10, Number.MAX_SAFE_INTEGER])('accepts %p', (limit) => {
    expect(() => assertLimit(limit, 'the limit argument')).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['a negative number', -1, '-1 (number)'],
    ['a fraction', 2.5, '2.5 (number)'],
    ['NaN', NaN, 'NaN (number)'],
    ['Infinity', Infinity, 'Infinity (number)'],
    ['an unsafe integer', 2 ** 60, '(number)'],
    ['a numeric string', '5', '"5" (string of length 1)'],
    ['undefined', undefined, 'undefined'],
    ['a boolean', true, 'true (boolean)'],
  ])('rejects %s with an error naming the source and the value', (_, limit, shown) => {
    const error = thrownBy(() => assertLimit(limit, 'the limit argument'));
    expect(error).toBeInstanceOf(InvalidLimitError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/^Invalid limit \(from the limit argument\): /);
    expect(error.message).toContain(shown);
    expect((error as InvalidLimitError).value).toBe(limit);
    expect((error as InvalidLimitError).source).toBe('the limit argument');
    expect((error as InvalidLimitError).model).toBeUndefined();
  });

  it('names the model when one is given', () => {
    const error = thrownBy(() => assertLimit(-3, 'the limits option', 'flux'));
    expect(error).toBeInstanceOf(InvalidLimitError);
    expect(error.message).toContain('limit for model "flux" (from the limits option)');
    expect(error.message).toContain('-3 (number)');
    expect((error as InvalidLimitError).model).toBe('flux');
  });
});

describe('assertSeconds', () => {
  it.each([0, 0.25, 1, 3600, 1e9])('accepts %p', (seconds) => {
    expect(() => assertSeconds(seconds)).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['a negative number', -1, '-1 (number)'],
    ['NaN', NaN, 'NaN (number)'],
    ['Infinity', Infinity, 'Infinity (number)'],
    ['-Infinity', -Infinity, '-Infinity (number)'],
    ['a string', '10', '"10" (string of length 2)'],
    ['null', null, 'null'],
  ])('rejects %s with an error naming expectedSeconds and the value', (_, seconds, shown) => {
    const error = thrownBy(() => assertSeconds(seconds));
    expect(error).toBeInstanceOf(InvalidExpectedSecondsError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/^Invalid expectedSeconds: /);
    expect(error.message).toContain(shown);
    expect(error.message).toContain('finite number >= 0');
    expect((error as InvalidExpectedSecondsError).argument).toBe('expectedSeconds');
    expect((error as InvalidExpectedSecondsError).value).toBe(seconds);
  });

  it('names another argument when asked to', () => {
    const error = thrownBy(() => assertSeconds(-5, 'everySeconds'));
    expect(error).toBeInstanceOf(InvalidExpectedSecondsError);
    expect(error.message).toMatch(/^Invalid everySeconds: -5 \(number\)/);
    expect((error as InvalidExpectedSecondsError).argument).toBe('everySeconds');
  });
});
