import type {
  AcquireReply,
  AcquireRequest,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  ReleaseReply,
  ReleaseRequest,
  UsageReply,
} from '../../core/gate-store';

/** One holder's slot: its lease end, and the admission that holds it. */
interface Slot {
  expiresAt: number;
  token: number;
  attempt: string;
}

/**
 * The gate in one process: same semantics as the Redis store, for tests, demos and
 * single-instance applications. Each method runs to completion without awaiting, which makes it
 * atomic within the process. Not shared between processes: behind a load balancer, use Redis.
 */
export class MemoryGateStore implements GateStore {
  /** gate → (holder → slot). */
  private readonly gates = new Map<string, Map<string, Slot>>();
  /** gate → last token issued; kept when the gate empties, so tokens keep increasing. */
  private readonly lastTokens = new Map<string, number>();

  /** @param clock Source of "now" in ms; replaceable in tests. */
  constructor(private readonly clock: () => number = Date.now) {}

  acquire({ gate, holder, limit, leaseMs, attempt, renew }: AcquireRequest): Promise<AcquireReply> {
    const now = this.clock();
    const slots = this.slotsOf(gate);
    const reclaimed = this.reclaim(slots, now);
    const held = slots.get(holder);
    if (held === undefined && limit !== null && limit > 0 && slots.size >= limit) {
      this.forgetIfEmpty(gate, slots);
      return Promise.resolve({
        admitted: false,
        alreadyHeld: false,
        used: slots.size,
        reclaimed,
        expiresAt: null,
        now,
        token: null,
      });
    }
    const expiresAt = Math.max(held?.expiresAt ?? 0, now + leaseMs);
    const slot =
      held === undefined || renew
        ? { expiresAt, token: this.nextToken(gate, now), attempt }
        : { ...held, expiresAt };
    slots.set(holder, slot);
    return Promise.resolve({
      admitted: true,
      alreadyHeld: held !== undefined,
      used: slots.size,
      reclaimed,
      expiresAt,
      now,
      token: slot.token,
    });
  }

  release({ gate, holder, fence }: ReleaseRequest): Promise<ReleaseReply> {
    const slots = this.gates.get(gate);
    const held = slots?.get(holder);
    if (
      held &&
      fence &&
      !('token' in fence ? held.token === fence.token : held.attempt === fence.attempt)
    ) {
      return Promise.resolve({ released: false, stale: true, currentToken: held.token });
    }
    const released = slots?.delete(holder) ?? false;
    if (slots) this.forgetIfEmpty(gate, slots);
    return Promise.resolve({ released, stale: false, currentToken: null });
  }

  extend({ gate, holder, leaseMs, token }: ExtendRequest): Promise<ExtendReply> {
    const now = this.clock();
    const slots = this.gates.get(gate);
    const held = slots?.get(holder);
    const lost = { extended: false, expiresAt: null, now, stale: false, currentToken: null };
    if (slots === undefined || held === undefined) return Promise.resolve(lost);
    if (token !== undefined && token !== held.token) {
      return Promise.resolve({ ...lost, stale: true, currentToken: held.token });
    }
    if (held.expiresAt <= now) {
      // The slot may already have been counted as free: bringing it back could over-admit.
      slots.delete(holder);
      this.forgetIfEmpty(gate, slots);
      return Promise.resolve(lost);
    }
    held.expiresAt = Math.max(held.expiresAt, now + leaseMs);
    return Promise.resolve({
      extended: true,
      expiresAt: held.expiresAt,
      now,
      stale: false,
      currentToken: held.token,
    });
  }

  usage(gate: string): Promise<UsageReply> {
    const now = this.clock();
    let used = 0;
    for (const slot of this.gates.get(gate)?.values() ?? []) if (slot.expiresAt > now) used++;
    return Promise.resolve({ used, now });
  }

  holders(gate: string): Promise<HoldersReply> {
    const now = this.clock();
    const holders = [...(this.gates.get(gate) ?? [])]
      .filter(([, slot]) => slot.expiresAt > now)
      .map(([holder, { expiresAt, token }]) => ({ holder, expiresAt, token }))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.holder < b.holder ? -1 : 1));
    return Promise.resolve({ holders, now });
  }

  reconcile(request: ReconcileRequest): Promise<ReconcileReply> {
    const { gate, holders, leaseMs, removable, sparedPrefix } = request;
    const now = this.clock();
    const slots = this.slotsOf(gate);
    this.reclaim(slots, now);
    const wanted = new Set(holders);
    const named = removable && new Map(removable.map((r) => [r.holder, r.token]));
    let added = 0;
    let removed = 0;
    for (const [holder, slot] of [...slots]) {
      if (wanted.has(holder) || (sparedPrefix && holder.startsWith(sparedPrefix))) continue;
      if (named && (!named.has(holder) || !matches(named.get(holder), slot.token))) continue;
      slots.delete(holder);
      removed++;
    }
    for (const holder of wanted) {
      if (!slots.has(holder)) {
        slots.set(holder, {
          expiresAt: now + leaseMs,
          token: this.nextToken(gate, now),
          attempt: '',
        });
        added++;
      }
    }
    this.forgetIfEmpty(gate, slots);
    return Promise.resolve({ added, removed, used: slots.size });
  }

  /** Like the Redis store's: one more than the last, never below the clock in microseconds. */
  private nextToken(gate: string, now: number): number {
    const token = Math.max((this.lastTokens.get(gate) ?? 0) + 1, now * 1000);
    this.lastTokens.set(gate, token);
    return token;
  }

  private slotsOf(gate: string): Map<string, Slot> {
    let slots = this.gates.get(gate);
    if (!slots) {
      slots = new Map();
      this.gates.set(gate, slots);
    }
    return slots;
  }

  private reclaim(slots: Map<string, Slot>, now: number): number {
    let reclaimed = 0;
    for (const [holder, slot] of slots) {
      if (slot.expiresAt <= now) {
        slots.delete(holder);
        reclaimed++;
      }
    }
    return reclaimed;
  }

  private forgetIfEmpty(gate: string, slots: Map<string, Slot>): void {
    if (slots.size === 0) this.gates.delete(gate);
  }
}

function matches(named: number | undefined, token: number): boolean {
  return named === undefined || named === token;
}
