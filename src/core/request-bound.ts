/**
 * Prefix of the holder ids of slots bound to an HTTP response (`release: 'response'` and
 * `@Sse()` routes). No database lists them, so reconcile never removes them: they go back when
 * their response ends, or when their lease does.
 */
export const REQUEST_BOUND_HOLDER_PREFIX = 'request:';
