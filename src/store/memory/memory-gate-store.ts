import type {
  AcquireReply,
  AcquireRequest,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HolderRequest,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  ReleaseReply,
  UsageReply,
} from '../gate-store.interface';

/**
 * The gate in one process: same semantics as the Redis store, for tests, demos and
 * single-instance applications. Each method runs to completion without awaiting, which makes it
 * atomic within the process. Not shared between processes: behind a load balancer, use Redis.
 */
export class MemoryGateStore implements GateStore {
  /** gate → (holder → lease end in ms). */
  private readonly gates = new Map<string, Map<string, number>>();

  /** @param clock Source of "now" in ms; replaceable in tests. */
  constructor(private readonly clock: () => number = Date.now) {}

  acquire({ gate, holder, limit, leaseMs }: AcquireRequest): Promise<AcquireReply> {
    const now = this.clock();
    const slots = this.slotsOf(gate);
    const reclaimed = this.reclaim(slots, now);
    let expiresAt = now + leaseMs;
    const held = slots.get(holder);
    if (held !== undefined) {
      expiresAt = Math.max(held, expiresAt);
    } else if (limit !== null && limit > 0 && slots.size >= limit) {
      this.forgetIfEmpty(gate, slots);
      return Promise.resolve({
        admitted: false,
        alreadyHeld: false,
        used: slots.size,
        reclaimed,
        expiresAt: null,
        now,
      });
    }
    slots.set(holder, expiresAt);
    return Promise.resolve({
      admitted: true,
      alreadyHeld: held !== undefined,
      used: slots.size,
      reclaimed,
      expiresAt,
      now,
    });
  }

  release({ gate, holder }: HolderRequest): Promise<ReleaseReply> {
    const slots = this.gates.get(gate);
    const released = slots?.delete(holder) ?? false;
    if (slots) this.forgetIfEmpty(gate, slots);
    return Promise.resolve({ released });
  }

  extend({ gate, holder, leaseMs }: ExtendRequest): Promise<ExtendReply> {
    const now = this.clock();
    const slots = this.gates.get(gate);
    const held = slots?.get(holder);
    if (slots === undefined || held === undefined) {
      return Promise.resolve({ extended: false, expiresAt: null, now });
    }
    if (held <= now) {
      // The slot may already have been counted as free: bringing it back could over-admit.
      slots.delete(holder);
      this.forgetIfEmpty(gate, slots);
      return Promise.resolve({ extended: false, expiresAt: null, now });
    }
    const expiresAt = Math.max(held, now + leaseMs);
    slots.set(holder, expiresAt);
    return Promise.resolve({ extended: true, expiresAt, now });
  }

  usage(gate: string): Promise<UsageReply> {
    const now = this.clock();
    let used = 0;
    for (const expiresAt of this.gates.get(gate)?.values() ?? []) if (expiresAt > now) used++;
    return Promise.resolve({ used, now });
  }

  holders(gate: string): Promise<HoldersReply> {
    const now = this.clock();
    const holders = [...(this.gates.get(gate) ?? [])]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([holder, expiresAt]) => ({ holder, expiresAt }))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.holder < b.holder ? -1 : 1));
    return Promise.resolve({ holders, now });
  }

  reconcile({ gate, holders, leaseMs, removable }: ReconcileRequest): Promise<ReconcileReply> {
    const now = this.clock();
    const slots = this.slotsOf(gate);
    this.reclaim(slots, now);
    const wanted = new Set(holders);
    const mayRemove = removable && new Set(removable);
    let added = 0;
    let removed = 0;
    for (const holder of [...slots.keys()]) {
      if (!wanted.has(holder) && (!mayRemove || mayRemove.has(holder))) {
        slots.delete(holder);
        removed++;
      }
    }
    for (const holder of wanted) {
      if (!slots.has(holder)) {
        slots.set(holder, now + leaseMs);
        added++;
      }
    }
    this.forgetIfEmpty(gate, slots);
    return Promise.resolve({ added, removed, used: slots.size });
  }

  private slotsOf(gate: string): Map<string, number> {
    let slots = this.gates.get(gate);
    if (!slots) {
      slots = new Map();
      this.gates.set(gate, slots);
    }
    return slots;
  }

  private reclaim(slots: Map<string, number>, now: number): number {
    let reclaimed = 0;
    for (const [holder, expiresAt] of slots) {
      if (expiresAt <= now) {
        slots.delete(holder);
        reclaimed++;
      }
    }
    return reclaimed;
  }

  private forgetIfEmpty(gate: string, slots: Map<string, number>): void {
    if (slots.size === 0) this.gates.delete(gate);
  }
}
