import { QueueGateError } from '../core/errors';
import { InvalidQueueGateOptionsError } from './errors';
import { MemoryGateStore } from '../store/memory/memory-gate-store';
import { validateModuleOptions, validateQueueLimitedOptions } from './validate-module-options';

/** Just enough of an ioredis client for the option check, which looks for `defineCommand`. */
const clientLike = { defineCommand() {} };

/** Runs `check` and returns what it threw, failing the test when it threw nothing. */
function thrownBy(check: () => void): InvalidQueueGateOptionsError {
  try {
    check();
  } catch (error) {
    return error as InvalidQueueGateOptionsError;
  }
  throw new Error('expected the check to throw');
}

describe('validateModuleOptions', () => {
  it.each<[string, unknown]>([
    ['no options', {}],
    ['the memory store', { store: 'memory' }],
    ['a custom store', { store: new MemoryGateStore() }],
    ['a Redis URL', { redis: { url: 'redis://127.0.0.1:6379/2' } }],
    ['a TLS Redis URL with options', { redis: { url: 'rediss://h:6380', options: { db: 1 } } }],
    ['ioredis options', { store: 'redis', redis: { options: { host: 'h', port: 1 } } }],
    ['a namespace', { redis: { namespace: 'gates' } }],
    ['a client', { redis: { client: clientLike } }],
    [
      'every other option set well',
      {
        store: 'memory',
        keyPrefix: 'app:gates:',
        limits: { flux: 3, sora: null, free: 0 },
        defaultLimit: 10,
        lease: { multiplier: 5, minSeconds: 1, maxSeconds: 60 },
        commandTimeoutMs: 250,
        shutdownTimeoutMs: 0,
        pendingReleases: { maxSize: 5, initialDelayMs: 10, maxDelayMs: 100 },
        queueLimited: { expectedSeconds: 0, release: 'response', retryAfterSeconds: 2 },
        events: { succeeded: 'task.done' },
        reconcile: { everySeconds: 30, models: ['flux'], activeTaskIds: () => [] },
      },
    ],
    ['a limits function', { store: 'memory', limits: () => 3 }],
    ['events turned off', { store: 'memory', events: false }],
    [
      'metrics with their options, and observers',
      {
        store: 'memory',
        metrics: { meterProvider: { getMeter: () => ({}) }, gauges: false, gaugeModels: 50 },
        observers: [{ onAcquire: () => undefined }],
      },
    ],
    [
      'a reconcile models function',
      {
        store: 'memory',
        reconcile: { everySeconds: 1, models: () => [], activeTaskIds: () => [] },
      },
    ],
  ])('accepts %s', (_, options) => {
    expect(() => validateModuleOptions(options)).not.toThrow();
  });

  it.each<[string, unknown, string, unknown, string]>([
    ['options that are not an object', 'redis://h', 'options', 'redis://h', '"redis://h"'],
    ['options that are null', null, 'options', null, 'null'],
    ['an unknown option', { storage: 'memory' }, 'storage', 'memory', '"memory"'],
    ['isGlobal inside the options', { isGlobal: true }, 'isGlobal', true, 'true (boolean)'],
    ['an unknown store name', { store: 'disk' }, 'store', 'disk', '"disk"'],
    [
      'a store missing methods',
      { store: { acquire() {} } },
      'store',
      undefined,
      'an object with key acquire',
    ],
    [
      'redis with the memory store',
      { store: 'memory', redis: { url: 'redis://h' } },
      'redis',
      undefined,
      'an object with key url',
    ],
    ['redis that is a string', { redis: 'redis://h' }, 'redis', 'redis://h', '"redis://h"'],
    ['redis without a source', { redis: {} }, 'redis', undefined, 'an empty object'],
    [
      'redis with two sources',
      { redis: { client: clientLike, url: 'redis://h' } },
      'redis',
      undefined,
      'an object with keys client, url',
    ],
    [
      'a client that is not ioredis',
      { redis: { client: { get() {} } } },
      'redis.client',
      undefined,
      'an object with key get',
    ],
    // A typo inside redis is named, not reported as "[object Object]" or a missing source.
    [
      'an unknown key inside redis',
      { redis: { uri: 'redis://h' } },
      'redis.uri',
      'redis://h',
      'unknown option; known: client, namespace, url, options',
    ],
    ['an empty namespace', { redis: { namespace: '' } }, 'redis.namespace', '', '""'],
    ['a numeric namespace', { redis: { namespace: 3 } }, 'redis.namespace', 3, '3 (number)'],
    [
      'a URL of another scheme',
      { redis: { url: 'http://h:6379' } },
      'redis.url',
      'http://h:6379',
      '"http://h:6379"',
    ],
    [
      'ioredis options that are not an object',
      { redis: { options: 6379 } },
      'redis.options',
      6379,
      '6379 (number)',
    ],
    ['a keyPrefix that is not a string', { keyPrefix: 5 }, 'keyPrefix', 5, '5 (number)'],
    ['a keyPrefix with a brace', { keyPrefix: 'app{' }, 'keyPrefix', 'app{', '"app{"'],
    ['a negative defaultLimit', { defaultLimit: -1 }, 'defaultLimit', -1, '-1 (number)'],
    ['a fractional defaultLimit', { defaultLimit: 2.5 }, 'defaultLimit', 2.5, '2.5 (number)'],
    ['limits that are a number', { limits: 5 }, 'limits', 5, '5 (number)'],
    ['limits that are an array', { limits: [1, 2] }, 'limits', undefined, 'an array of length 2'],
    ['a bad limit in the map', { limits: { flux: -2 } }, 'limits["flux"]', -2, '-2 (number)'],
    ['a string limit in the map', { limits: { flux: '3' } }, 'limits["flux"]', '3', '"3"'],
    ['a braced model in the map', { limits: { 'a{b}': 1 } }, 'limits["a{b}"]', 'a{b}', '"a{b}"'],
    ['an empty model in the map', { limits: { '': 1 } }, 'limits[""]', '', '""'],
    ['lease that is a number', { lease: 60 }, 'lease', 60, '60 (number)'],
    ['a zero lease multiplier', { lease: { multiplier: 0 } }, 'lease.multiplier', 0, '0 (number)'],
    [
      'a negative lease minimum',
      { lease: { minSeconds: -1 } },
      'lease.minSeconds',
      -1,
      '-1 (number)',
    ],
    [
      'a lease maximum that is a string',
      { lease: { maxSeconds: '60' } },
      'lease.maxSeconds',
      '60',
      '"60"',
    ],
    [
      'a lease maximum below the minimum',
      { lease: { minSeconds: 100, maxSeconds: 50 } },
      'lease.maxSeconds',
      50,
      '50 (number)',
    ],
    [
      'a lease maximum below the default minimum',
      { lease: { maxSeconds: 60 } },
      'lease.maxSeconds',
      60,
      '60 (number)',
    ],
    ['a zero commandTimeoutMs', { commandTimeoutMs: 0 }, 'commandTimeoutMs', 0, '0 (number)'],
    [
      'an infinite commandTimeoutMs',
      { commandTimeoutMs: Infinity },
      'commandTimeoutMs',
      Infinity,
      'Infinity (number)',
    ],
    // Node fires a timer above 2^31-1 ms at once: such a period would run every millisecond.
    [
      'a commandTimeoutMs beyond what a timer can wait',
      { commandTimeoutMs: 2 ** 31 },
      'commandTimeoutMs',
      2 ** 31,
      '2147483648 (number)',
    ],
    [
      'a reconcile period beyond what a timer can wait',
      { reconcile: { everySeconds: 30 * 24 * 3600, models: [], activeTaskIds: () => [] } },
      'reconcile.everySeconds',
      30 * 24 * 3600,
      '2592000 (number)',
    ],
    [
      'a pending-release delay beyond what a timer can wait',
      { pendingReleases: { maxDelayMs: 1e12 } },
      'pendingReleases.maxDelayMs',
      1e12,
      '1000000000000 (number)',
    ],
    // Redis refuses a key expiry that far out, after the acquire script has already written.
    [
      'a lease maximum of 1e14 seconds',
      { lease: { maxSeconds: 1e14 } },
      'lease.maxSeconds',
      1e14,
      '100000000000000 (number)',
    ],
    ['a negative shutdownTimeoutMs', { shutdownTimeoutMs: -1 }, 'shutdownTimeoutMs', -1, '-1'],
    ['pendingReleases that is a number', { pendingReleases: 3 }, 'pendingReleases', 3, '3'],
    [
      'a fractional pending-release bound',
      { pendingReleases: { maxSize: 1.5 } },
      'pendingReleases.maxSize',
      1.5,
      '1.5 (number)',
    ],
    [
      'a zero first retry delay',
      { pendingReleases: { initialDelayMs: 0 } },
      'pendingReleases.initialDelayMs',
      0,
      '0 (number)',
    ],
    [
      'a negative longest retry delay',
      { pendingReleases: { maxDelayMs: -5 } },
      'pendingReleases.maxDelayMs',
      -5,
      '-5 (number)',
    ],
    ['queueLimited that is true', { queueLimited: true }, 'queueLimited', true, 'true'],
    [
      'an unknown release mode',
      { queueLimited: { release: 'never' } },
      'queueLimited.release',
      'never',
      '"never"',
    ],
    [
      'a negative Retry-After',
      { queueLimited: { retryAfterSeconds: -1 } },
      'queueLimited.retryAfterSeconds',
      -1,
      '-1 (number)',
    ],
    [
      'a failOpen that is a string',
      { queueLimited: { failOpen: 'yes' } },
      'queueLimited.failOpen',
      'yes',
      '"yes"',
    ],
    ['events that are true', { events: true }, 'events', true, 'true (boolean)'],
    ['an unknown event', { events: { finished: 'x' } }, 'events.finished', 'x', '"x"'],
    ['an empty event name', { events: { failed: '' } }, 'events.failed', '', '""'],
    ['reconcile that is a number', { reconcile: 60 }, 'reconcile', 60, '60 (number)'],
    [
      'a zero reconcile period',
      { reconcile: { everySeconds: 0, models: [], activeTaskIds: () => [] } },
      'reconcile.everySeconds',
      0,
      '0 (number)',
    ],
    [
      'a reconcile without activeTaskIds',
      { reconcile: { everySeconds: 1, models: [] } },
      'reconcile.activeTaskIds',
      undefined,
      'undefined',
    ],
    [
      'reconcile models that are a string',
      { reconcile: { everySeconds: 1, models: 'flux', activeTaskIds: () => [] } },
      'reconcile.models',
      'flux',
      '"flux"',
    ],
    [
      'a bad model among the reconcile models',
      { reconcile: { everySeconds: 1, models: ['flux', '{x}'], activeTaskIds: () => [] } },
      'reconcile.models[1]',
      '{x}',
      '"{x}"',
    ],
    ['metrics that are a string', { metrics: 'yes' }, 'metrics', 'yes', '"yes"'],
    [
      'a meter provider without getMeter',
      { metrics: { meterProvider: {} } },
      'metrics.meterProvider',
      undefined,
      'an empty object',
    ],
    ['gauges that are a string', { metrics: { gauges: 'no' } }, 'metrics.gauges', 'no', '"no"'],
    ['a gaugeModels of 0', { metrics: { gaugeModels: 0 } }, 'metrics.gaugeModels', 0, '0 (number)'],
    ['observers that are an object', { observers: {} }, 'observers', undefined, 'an empty object'],
    ['an observer that is a function', { observers: [() => 1] }, 'observers[0]', undefined, ''],
  ])('rejects %s, naming the option and the value', (_, options, option, value, shown) => {
    const error = thrownBy(() => validateModuleOptions(options));
    expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
    expect(error).toBeInstanceOf(QueueGateError);
    expect(error.name).toBe('InvalidQueueGateOptionsError');
    expect(error.option).toBe(option);
    if (value !== undefined) expect(error.value).toBe(value);
    expect(error.message.startsWith(`Invalid QueueGateModule option "${option}": `)).toBe(true);
    expect(error.message).toContain(shown);
  });

  it('keeps the given value on the error, for objects too', () => {
    const redis = { client: clientLike, namespace: 'x' };
    const error = thrownBy(() => validateModuleOptions({ redis }));
    expect(error.value).toBe(redis);
    expect(error.message).toContain('give exactly one of client, namespace, or url/options');
    expect(error.message).toContain('got 2');
  });

  it('lists the known options when an unknown one is given', () => {
    const error = thrownBy(() => validateModuleOptions({ keyprefix: 'x:' }));
    expect(error.message).toContain('keyPrefix');
    expect(error.message).toContain('commandTimeoutMs');
  });

  it('says where isGlobal belongs', () => {
    const error = thrownBy(() => validateModuleOptions({ store: 'memory', isGlobal: true }));
    expect(error.message).toContain('forRoot');
  });

  it('says what a bad limit should be', () => {
    const error = thrownBy(() => validateModuleOptions({ limits: { flux: -1 } }));
    expect(error.message).toContain('integer >= 0, or null');
  });

  it('shows a bad value once, even when it contains a semicolon', () => {
    const error = thrownBy(() => validateModuleOptions({ limits: { flux: 'a; b' } }));
    expect(error.option).toBe('limits["flux"]');
    expect(error.message.split('(string of length 4)')).toHaveLength(2);
    expect(error.message).toContain('integer >= 0, or null');
  });
});

describe('validateQueueLimitedOptions', () => {
  it('accepts well-formed route options', () => {
    expect(() =>
      validateQueueLimitedOptions(
        { limit: 2, expectedSeconds: 30, release: 'event', headers: false, taskId: () => 't' },
        '@QueueLimited(flux)',
      ),
    ).not.toThrow();
  });

  it.each<[string, unknown, string, string]>([
    ['a negative limit', { limit: -1 }, 'route.limit', '-1 (number)'],
    ['NaN expectedSeconds', { expectedSeconds: NaN }, 'route.expectedSeconds', 'NaN (number)'],
    ['headers that are a string', { headers: 'no' }, 'route.headers', '"no"'],
    ['a taskId that is a string', { taskId: 'fixed' }, 'route.taskId', '"fixed"'],
    ['options that are not an object', 3, 'route', '3 (number)'],
  ])('rejects %s under the given path', (_, options, option, shown) => {
    const error = thrownBy(() => validateQueueLimitedOptions(options, 'route'));
    expect(error).toBeInstanceOf(InvalidQueueGateOptionsError);
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toContain(shown);
  });
});
