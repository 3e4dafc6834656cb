import { type AcquireReply, type AcquireRequest, RedisGateStore } from '../../src';

/**
 * The Redis store as QueueGate uses it, noting for each holder the store's clock when its first
 * acquire script ran: the moment the call reached Redis. Scripts run one at a time, so these
 * stamps order arrivals as Redis saw them (in whole ms), which the callers' own stamps cannot
 * on a busy machine, where a command may wait some ms for Redis to read it.
 */
export class ArrivalNotingStore extends RedisGateStore {
  private readonly reached = new Map<string, number>();

  override async acquire(request: AcquireRequest): Promise<AcquireReply> {
    const reply = await super.acquire(request);
    if (!this.reached.has(request.holder)) this.reached.set(request.holder, reply.now);
    return reply;
  }

  /** When `holder`'s call reached Redis, by the store's clock; forgets it. */
  takeReachedAt(holder: string): number | null {
    const at = this.reached.get(holder) ?? null;
    this.reached.delete(holder);
    return at;
  }
}
