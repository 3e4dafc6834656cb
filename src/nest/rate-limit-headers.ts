/** A tenant's share, for the second policy of the RateLimit headers. */
export interface TenantQuota {
  /** The tenant's share in units. */
  limit: number;
  /** Units the tenant uses. */
  used: number;
}

/**
 * The IETF draft RateLimit headers for a concurrency quota
 * (draft-ietf-httpapi-ratelimit-headers): each policy names its quota in
 * "concurrent-requests", and `RateLimit` says how many units remain under each. The model's
 * policy is named after the model; a tenant's share, when one applies, is a second policy named
 * `<model>/tenant`. `limit` is null when only the tenant's share limits the request.
 */
export function rateLimitHeaders(
  model: string,
  limit: number | null,
  used: number,
  tenant?: TenantQuota,
): Record<string, string> {
  const policies: string[] = [];
  const remaining: string[] = [];
  const add = (name: string, quota: number, inUse: number) => {
    const label = structuredString(name);
    policies.push(`${label};q=${quota};qu="concurrent-requests"`);
    remaining.push(`${label};r=${Math.max(0, quota - inUse)}`);
  };
  if (limit !== null) add(model, limit, used);
  if (tenant) add(`${model}/tenant`, tenant.limit, tenant.used);
  return { 'RateLimit-Policy': policies.join(', '), RateLimit: remaining.join(', ') };
}

/** An RFC 8941 sf-string: printable ASCII only, with `"` and `\` escaped. */
function structuredString(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '\\$&');
  return `"${printable}"`;
}
