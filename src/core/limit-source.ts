import { assertLimit } from './validation';

/** A limit: an integer ≥ 0, or null. 0 and null both mean "unlimited" (holders are still recorded). */
export type GateLimit = number | null;

/**
 * Where per-model limits come from: a map, or a function of the model name (sync or async, for
 * limits kept in a database). A map without the model, or a function returning `undefined`,
 * falls through to `defaultLimit`.
 */
export type LimitSource =
  | Readonly<Record<string, GateLimit>>
  | ((model: string) => GateLimit | undefined | Promise<GateLimit | undefined>);

/**
 * Resolves the limit of one call: the explicit `limit` argument, else `source`, else
 * `defaultLimit`, else unlimited. Returns null for unlimited (0 is normalised to null).
 */
export async function resolveLimit(
  model: string,
  explicit: GateLimit | undefined,
  source: LimitSource | undefined,
  defaultLimit: GateLimit | undefined,
): Promise<GateLimit> {
  if (explicit !== undefined) {
    assertLimit(explicit, 'the limit argument', model);
    return normalise(explicit);
  }
  if (source !== undefined) {
    const found = typeof source === 'function' ? await source(model) : lookUp(source, model);
    if (found !== undefined) {
      assertLimit(found, 'the limits option', model);
      return normalise(found);
    }
  }
  const fallback = defaultLimit ?? null;
  assertLimit(fallback, 'the defaultLimit option', model);
  return normalise(fallback);
}

function lookUp(map: Readonly<Record<string, GateLimit>>, model: string): GateLimit | undefined {
  return Object.prototype.hasOwnProperty.call(map, model) ? map[model] : undefined;
}

function normalise(limit: GateLimit): GateLimit {
  return limit === 0 ? null : limit;
}
