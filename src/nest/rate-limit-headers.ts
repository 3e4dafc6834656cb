/**
 * The IETF draft RateLimit headers for a concurrency quota
 * (draft-ietf-httpapi-ratelimit-headers): the policy names the model and its limit in
 * "concurrent-requests", and `RateLimit` says how many slots remain.
 */
export function rateLimitHeaders(
  model: string,
  limit: number,
  used: number,
): Record<string, string> {
  const name = structuredString(model);
  return {
    'RateLimit-Policy': `${name};q=${limit};qu="concurrent-requests"`,
    RateLimit: `${name};r=${Math.max(0, limit - used)}`,
  };
}

/** An RFC 8941 sf-string: printable ASCII only, with `"` and `\` escaped. */
function structuredString(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '\\$&');
  return `"${printable}"`;
}
