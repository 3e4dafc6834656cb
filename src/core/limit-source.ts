import { InvalidArgumentError } from './errors/invalid-argument.error';
import { assertLimit } from './validation';

/** A limit: an integer ≥ 0, or null. 0 and null both mean "unlimited" (holders are still recorded). */
export type GateLimit = number | null;

/**
 * A model's limit with a share per tenant: at most `limit` units in all, and at most
 * `perTenant` units for any one tenant (checked only for calls that name a tenant).
 */
export interface ModelLimits {
  /** The model's limit in units; 0 or null: unlimited. */
  limit: GateLimit;
  /** Each tenant's share in units; 0, null or absent: no share. */
  perTenant?: GateLimit;
}

/** What a limit source gives for one model: a limit, or a limit with a per-tenant share. */
export type ModelLimitsEntry = GateLimit | ModelLimits;

/**
 * Where per-model limits come from: a map, or a function of the model name (sync or async, for
 * limits kept in a database). A map without the model, or a function returning `undefined`,
 * falls through to `defaultLimit`.
 */
export type LimitSource =
  | Readonly<Record<string, ModelLimitsEntry>>
  | ((model: string) => ModelLimitsEntry | undefined | Promise<ModelLimitsEntry | undefined>);

/** The limits that apply to one call, normalised: null for unlimited or no share. */
export interface ResolvedLimits {
  limit: GateLimit;
  perTenant: GateLimit;
}

/**
 * Resolves the limits of one call: the explicit `limit` argument (without a tenant share), else
 * `source`, else `defaultLimit`, else unlimited. 0 is normalised to null. Answers at once (and
 * throws at once) unless `source` is a function, whose answer it awaits: the acquire path then
 * takes no extra turn of the event loop for a limits map.
 */
export function resolveLimits(
  model: string,
  explicit: GateLimit | undefined,
  source: LimitSource | undefined,
  defaultLimit: GateLimit | undefined,
): ResolvedLimits | Promise<ResolvedLimits> {
  if (explicit !== undefined) {
    assertLimit(explicit, 'the limit argument', model);
    return { limit: normalise(explicit), perTenant: null };
  }
  if (typeof source === 'function') {
    return Promise.resolve()
      .then(() => source(model))
      .then((found) => fromFound(found, model, defaultLimit));
  }
  return fromFound(source && lookUp(source, model), model, defaultLimit);
}

function fromFound(
  found: ModelLimitsEntry | undefined,
  model: string,
  defaultLimit: GateLimit | undefined,
): ResolvedLimits {
  if (found !== undefined) return fromEntry(found, 'the limits option', model);
  const fallback = defaultLimit ?? null;
  assertLimit(fallback, 'the defaultLimit option', model);
  return { limit: normalise(fallback), perTenant: null };
}

/** Like {@link resolveLimits}, for the model's limit alone. */
export async function resolveLimit(
  model: string,
  explicit: GateLimit | undefined,
  source: LimitSource | undefined,
  defaultLimit: GateLimit | undefined,
): Promise<GateLimit> {
  return (await resolveLimits(model, explicit, source, defaultLimit)).limit;
}

/** Checks one entry of a limit source; throws an error that names the model and the value. */
export function fromEntry(entry: unknown, source: string, model: string): ResolvedLimits {
  if (entry !== null && typeof entry === 'object') {
    const { limit, perTenant, ...unknown } = entry as Partial<ModelLimits>;
    const extra = Object.keys(unknown);
    if (extra.length > 0) {
      throw new InvalidArgumentError(
        `${source} for model "${model}"`,
        entry,
        `it has unknown field(s) ${extra.map((k) => `"${k}"`).join(', ')}; expected limit and perTenant`,
      );
    }
    assertLimit(limit, source, model);
    if (perTenant !== undefined) assertLimit(perTenant, `${source} (perTenant)`, model);
    return { limit: normalise(limit), perTenant: normalise(perTenant ?? null) };
  }
  assertLimit(entry, source, model);
  return { limit: normalise(entry), perTenant: null };
}

function lookUp(
  map: Readonly<Record<string, ModelLimitsEntry>>,
  model: string,
): ModelLimitsEntry | undefined {
  return Object.prototype.hasOwnProperty.call(map, model) ? map[model] : undefined;
}

function normalise(limit: GateLimit): GateLimit {
  return limit === 0 ? null : limit;
}
