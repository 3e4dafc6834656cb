import type { ExecutionContext } from '@nestjs/common';
import { REQUEST_SLOT, type RequestSlot } from './request-slot';

/**
 * The slot the guard attached to this call's request, found among the call's arguments: the
 * request itself (HTTP: Express or Fastify), or the `req` of a context object (GraphQL passes
 * `{ req }` as its third argument). The guard decides where the request is (`getHttpPair`);
 * the interceptor and `@GateSlot()` only look it up, so a transport needs no code of theirs.
 */
export function findRequestSlot(context: ExecutionContext): RequestSlot | undefined {
  for (const arg of context.getArgs<unknown[]>()) {
    if (typeof arg !== 'object' || arg === null) continue;
    const holder = arg as Record<PropertyKey, any>;
    const slot = (holder[REQUEST_SLOT] ?? holder.req?.[REQUEST_SLOT]) as RequestSlot | undefined;
    if (slot) return slot;
  }
  return undefined;
}
