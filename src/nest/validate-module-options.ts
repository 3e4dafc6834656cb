import { InvalidArgumentError } from '../core/errors/invalid-argument.error';
import { InvalidQueueGateOptionsError } from './errors/invalid-options.error';
import { MAX_LEASE_MS, MAX_TIMER_MS } from '../core/limits';
import { assertLimit, assertModelName } from '../core/validation';
import type {
  QueueGateModuleOptions,
  QueueGateRedisOptions,
  QueueLimitedOptions,
} from './queue-gate.options';
import { QUEUE_GATE_EVENTS } from './task-lifecycle.events';
import { DEFAULT_LEASE_POLICY } from '../core/lease-policy';
import type { GateStore } from '../core/gate-store';
import { fromEntry } from '../core/limit-source';

type Check = (value: unknown) => string | undefined;

/**
 * Every option, as the keys of a record over the options type: the compiler refuses this list
 * when an option is added to the type and not here, or the other way round.
 */
const KNOWN_OPTIONS = Object.keys({
  store: true,
  redis: true,
  keyPrefix: true,
  limits: true,
  defaultLimit: true,
  lease: true,
  commandTimeoutMs: true,
  pendingReleases: true,
  queueLimited: true,
  events: true,
  reconcile: true,
  shutdownTimeoutMs: true,
  waiting: true,
  doctor: true,
  durability: true,
  observers: true,
  metrics: true,
} satisfies Record<keyof QueueGateModuleOptions, true>);

const KNOWN_REDIS_OPTIONS = Object.keys({
  client: true,
  namespace: true,
  url: true,
  options: true,
} satisfies Record<keyof QueueGateRedisOptions, true>);

const positive: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'it must be a number > 0';
const nonNegative: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'it must be a number >= 0';
const positiveInteger: Check = (v) =>
  Number.isSafeInteger(v) && (v as number) > 0 ? undefined : 'it must be an integer > 0';
/** A delay in ms that Node's timers honour; past 2^31-1 ms a timer fires at once. */
const timerMs: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMER_MS
    ? undefined
    : `it must be a number of ms > 0 and at most ${MAX_TIMER_MS}`;
const timerSeconds: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v * 1000 <= MAX_TIMER_MS
    ? undefined
    : `it must be a number of seconds > 0 and at most ${MAX_TIMER_MS / 1000}`;
const leaseSeconds: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v * 1000 <= MAX_LEASE_MS
    ? undefined
    : `it must be a number of seconds > 0 and at most ${MAX_LEASE_MS / 1000} (366 days)`;
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'it must be true or false');
const fn: Check = (v) => (typeof v === 'function' ? undefined : 'it must be a function');
const nonEmptyString: Check = (v) =>
  typeof v === 'string' && v.length > 0 ? undefined : 'it must be a non-empty string';

/** Throws {@link InvalidQueueGateOptionsError} naming the first malformed module option. */
export function validateModuleOptions(options: unknown): asserts options is QueueGateModuleOptions {
  if (!isObject(options)) fail('options', options, 'the options must be an object');
  const o = options as QueueGateModuleOptions;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      fail(
        key,
        (o as Record<string, unknown>)[key],
        key === 'isGlobal'
          ? 'isGlobal belongs to forRoot() or to forRootAsync() itself, not to the options it makes'
          : `unknown option; known: ${KNOWN_OPTIONS.join(', ')}`,
      );
    }
  }
  const store = o.store;
  if (store !== undefined && store !== 'redis' && store !== 'memory' && !isGateStore(store)) {
    fail('store', store, "it must be 'redis', 'memory', or an object implementing GateStore");
  }
  if (store === 'memory' && o.redis !== undefined) {
    fail('redis', o.redis, "it cannot be combined with store: 'memory'; choose one store");
  }
  if (o.redis !== undefined) validateRedis(o.redis);
  optional('keyPrefix', o.keyPrefix, (v) =>
    typeof v !== 'string'
      ? 'it must be a string'
      : /[{}]/.test(v)
        ? 'it must not contain "{" or "}" (they would change the Cluster hash tag)'
        : undefined,
  );
  validateLimits(o);
  if (o.lease !== undefined) {
    if (!isObject(o.lease)) fail('lease', o.lease, 'it must be an object');
    optional('lease.multiplier', o.lease.multiplier, positive);
    optional('lease.minSeconds', o.lease.minSeconds, leaseSeconds);
    optional('lease.maxSeconds', o.lease.maxSeconds, leaseSeconds);
    const { minSeconds, maxSeconds } = { ...DEFAULT_LEASE_POLICY, ...o.lease };
    if (maxSeconds < minSeconds) {
      fail('lease.maxSeconds', maxSeconds, `it must be >= lease.minSeconds (${minSeconds})`);
    }
  }
  optional('commandTimeoutMs', o.commandTimeoutMs, timerMs);
  if (o.waiting !== undefined) {
    if (!isObject(o.waiting)) fail('waiting', o.waiting, 'it must be an object');
    optional('waiting.waiterLeaseMs', o.waiting.waiterLeaseMs, timerMs);
  }
  optional('shutdownTimeoutMs', o.shutdownTimeoutMs, nonNegative);
  optional('doctor', o.doctor, boolean);
  if (o.durability !== undefined) {
    if (!isObject(o.durability)) fail('durability', o.durability, 'it must be an object');
    required('durability.replicas', o.durability.replicas, positiveInteger);
    optional('durability.timeoutMs', o.durability.timeoutMs, timerMs);
    optional('durability.onShortfall', o.durability.onShortfall, (v) =>
      v === 'unavailable' || v === 'admit' ? undefined : "it must be 'unavailable' or 'admit'",
    );
  }
  if (o.observers !== undefined) {
    if (!Array.isArray(o.observers)) fail('observers', o.observers, 'it must be an array');
    o.observers.forEach((observer: unknown, index: number) => {
      if (!isObject(observer)) fail(`observers[${index}]`, observer, 'it must be an object');
    });
  }
  if (o.metrics !== undefined && typeof o.metrics !== 'boolean') {
    if (!isObject(o.metrics)) fail('metrics', o.metrics, 'it must be true, false or an object');
    optional('metrics.meterProvider', o.metrics.meterProvider, (v) =>
      isObject(v) && typeof v.getMeter === 'function'
        ? undefined
        : 'it must be a MeterProvider (an object with getMeter)',
    );
    optional('metrics.gauges', o.metrics.gauges, boolean);
    optional('metrics.gaugeModels', o.metrics.gaugeModels, positiveInteger);
  }
  if (o.pendingReleases !== undefined) {
    if (!isObject(o.pendingReleases))
      fail('pendingReleases', o.pendingReleases, 'it must be an object');
    optional('pendingReleases.maxSize', o.pendingReleases.maxSize, positiveInteger);
    optional('pendingReleases.initialDelayMs', o.pendingReleases.initialDelayMs, timerMs);
    optional('pendingReleases.maxDelayMs', o.pendingReleases.maxDelayMs, timerMs);
  }
  if (o.queueLimited !== undefined) validateQueueLimitedOptions(o.queueLimited, 'queueLimited');
  validateEvents(o.events);
  validateReconcile(o.reconcile);
}

/** Throws {@link InvalidQueueGateOptionsError} naming the first malformed `@QueueLimited` option. */
export function validateQueueLimitedOptions(options: unknown, path: string): void {
  if (!isObject(options)) fail(path, options, 'it must be an object');
  const o = options as QueueLimitedOptions;
  if (o.limit !== undefined) asLimit(`${path}.limit`, o.limit);
  optional(`${path}.expectedSeconds`, o.expectedSeconds, nonNegative);
  optional(`${path}.release`, o.release, (v) =>
    v === 'event' || v === 'response' ? undefined : "it must be 'event' or 'response'",
  );
  optional(`${path}.retryAfterSeconds`, o.retryAfterSeconds, nonNegative);
  optional(`${path}.failOpen`, o.failOpen, boolean);
  optional(`${path}.headers`, o.headers, boolean);
  optional(`${path}.taskId`, o.taskId, fn);
  optional(`${path}.waitSeconds`, o.waitSeconds, (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 && v * 1000 <= MAX_TIMER_MS
      ? undefined
      : `it must be a number of seconds >= 0 and at most ${MAX_TIMER_MS / 1000}`,
  );
  optional(`${path}.tenant`, o.tenant, fn);
  optional(`${path}.cost`, o.cost, (v) =>
    typeof v === 'function' || (Number.isSafeInteger(v) && (v as number) >= 1)
      ? undefined
      : 'it must be an integer >= 1 or a function',
  );
}

function validateRedis(redis: unknown): void {
  if (!isObject(redis)) fail('redis', redis, 'it must be an object');
  const r = redis as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!KNOWN_REDIS_OPTIONS.includes(key)) {
      fail(`redis.${key}`, r[key], `unknown option; known: ${KNOWN_REDIS_OPTIONS.join(', ')}`);
    }
  }
  const sources = ['client', 'namespace', 'url/options'].filter((name) =>
    name === 'url/options' ? r.url !== undefined || r.options !== undefined : r[name] !== undefined,
  );
  if (sources.length !== 1) {
    fail(
      'redis',
      redis,
      `give exactly one of client, namespace, or url/options (got ${sources.length})`,
    );
  }
  optional('redis.client', r.client, (v) =>
    isObject(v) && typeof (v as { defineCommand?: unknown }).defineCommand === 'function'
      ? undefined
      : 'it must be an ioredis Redis or Cluster client',
  );
  optional('redis.namespace', r.namespace, nonEmptyString);
  optional('redis.url', r.url, (v) =>
    typeof v === 'string' && /^rediss?:\/\//.test(v)
      ? undefined
      : 'it must be a redis:// or rediss:// URL',
  );
  optional('redis.options', r.options, (v) => (isObject(v) ? undefined : 'it must be an object'));
}

function validateLimits(o: QueueGateModuleOptions): void {
  if (o.defaultLimit !== undefined) asLimit('defaultLimit', o.defaultLimit);
  if (o.limits === undefined || typeof o.limits === 'function') return;
  if (!isObject(o.limits))
    fail('limits', o.limits, 'it must be a map of model to limit, or a function');
  for (const [model, entry] of Object.entries(o.limits)) {
    asModel(`limits["${model}"]`, model);
    rethrowAs(`limits["${model}"]`, entry, () => fromEntry(entry, `limits["${model}"]`, model));
  }
}

function validateEvents(events: unknown): void {
  if (events === undefined || events === false) return;
  if (!isObject(events)) fail('events', events, 'it must be false or an object of event names');
  for (const [name, value] of Object.entries(events)) {
    if (!(name in QUEUE_GATE_EVENTS)) {
      fail(
        `events.${name}`,
        value,
        `unknown event; known: ${Object.keys(QUEUE_GATE_EVENTS).join(', ')}`,
      );
    }
    optional(`events.${name}`, value, nonEmptyString);
  }
}

function validateReconcile(reconcile: unknown): void {
  if (reconcile === undefined) return;
  if (!isObject(reconcile)) fail('reconcile', reconcile, 'it must be an object');
  const r = reconcile as Record<string, unknown>;
  required('reconcile.everySeconds', r.everySeconds, timerSeconds);
  required('reconcile.activeTaskIds', r.activeTaskIds, fn);
  if (typeof r.models === 'function') return;
  if (!Array.isArray(r.models))
    fail('reconcile.models', r.models, 'it must be an array or a function');
  r.models.forEach((model, i) => asModel(`reconcile.models[${i}]`, model));
}

function asLimit(path: string, value: unknown): void {
  rethrowAs(path, value, () => assertLimit(value, path));
}

function asModel(path: string, value: unknown): void {
  rethrowAs(path, value, () => assertModelName(value));
}

function rethrowAs(path: string, value: unknown, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    fail(path, value, error.requirement);
  }
}

function optional(path: string, value: unknown, check: Check): void {
  if (value !== undefined) required(path, value, check);
}

function required(path: string, value: unknown, check: Check): void {
  const problem = check(value);
  if (problem !== undefined) fail(path, value, problem);
}

function fail(path: string, value: unknown, requirement: string): never {
  throw new InvalidQueueGateOptionsError(path, value, requirement);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every method of the {@link GateStore} port. */
const GATE_STORE_METHODS = [
  'acquire',
  'release',
  'extend',
  'usage',
  'holders',
  'reconcile',
  'heartbeat',
  'leave',
  'subscribe',
  'close',
] as const satisfies readonly (keyof GateStore)[];

function isGateStore(value: unknown): boolean {
  return (
    isObject(value) && GATE_STORE_METHODS.every((method) => typeof value[method] === 'function')
  );
}
