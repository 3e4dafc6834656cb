import type { AcquireReply, AcquireRequest, GateStore } from '../../src';

/**
 * The negative control: a gate store that reads the count and then adds the holder in a second,
 * separate step, like the `SELECT COUNT(*)` then `INSERT` this library replaces. Two requests
 * that read at the same moment both see room and both get in. Every other call goes to the real
 * store, so releases and keep-alives of the real workers still work on the same keys.
 */
export function brokenStore(real: GateStore): GateStore {
  const acquire = async (request: AcquireRequest): Promise<AcquireReply> => {
    const { used, now } = await real.usage(request.gate);
    if (request.limit !== null && request.limit > 0 && used >= request.limit) {
      return {
        admitted: false,
        alreadyHeld: false,
        used,
        reclaimed: 0,
        expiresAt: null,
        now,
        token: null,
        refusedBy: 'model',
        position: null,
        tenantUsed: 0,
      };
    }
    // The gap between the two steps; any other request that reads now sees the same count. Wide
    // enough that requests collide in it even on a loaded machine, where few are in flight.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return real.acquire({ ...request, limit: null });
  };
  return new Proxy(real, {
    get: (target, property, receiver) =>
      property === 'acquire' ? acquire : Reflect.get(target, property, receiver),
  });
}
