import type {
  AcquireReply,
  AcquireRequest,
  AdmissionListener,
  ExtendReply,
  ExtendRequest,
  GateStore,
  HandedAdmission,
  HeartbeatRequest,
  HoldersReply,
  ReconcileReply,
  ReconcileRequest,
  RefusedBy,
  ReleaseReply,
  ReleaseRequest,
  GateStateSnapshot,
  SnapshotReply,
  SnapshotRequest,
  UsageReply,
  WaiterRequest,
  WaiterState,
} from '../../core/gate-store';

/** One holder's slot: its lease end, the admission that holds it, and what it weighs. */
interface Slot {
  expiresAt: number;
  token: number;
  attempt: string;
  cost: number;
  tenant: string | null;
}

/** A queued waiter: what it asked for, and until when its place holds without a heartbeat. */
interface Waiter {
  deadline: number;
  leaseMs: number;
  limit: number | null;
  perTenant: number | null;
  cost: number;
  attempt: string;
  tenant: string | null;
}

/** One gate: its holders, and its waiters in arrival order (a Map keeps insertion order). */
interface Gate {
  slots: Map<string, Slot>;
  queue: Map<string, Waiter>;
  /** Leases reclaimed since the gate was made. */
  reclaimed: number;
}

/** Most queued waiters one step looks at when handing freed units to the queue (as in Redis). */
const MAX_WAITERS_PER_HANDOFF = 64;

/**
 * The gate in one process: same semantics as the Redis store, for tests, demos and
 * single-instance applications. Each method runs to completion without awaiting, which makes it
 * atomic within the process. Not shared between processes: behind a load balancer, use Redis.
 */
export class MemoryGateStore implements GateStore {
  private readonly gates = new Map<string, Gate>();
  /** gate → last token issued; kept when the gate empties, so tokens keep increasing. */
  private readonly lastTokens = new Map<string, number>();
  private readonly listeners = new Map<string, Set<AdmissionListener>>();

  /** @param clock Source of "now" in ms; replaceable in tests. */
  constructor(private readonly clock: () => number = Date.now) {}

  acquire(request: AcquireRequest): Promise<AcquireReply> {
    const { gate: name, holder, limit, leaseMs, attempt, renew } = request;
    const cost = request.cost ?? 1;
    const tenant = request.tenant ?? null;
    const perTenant = request.perTenant ?? null;
    const now = this.clock();
    const gate = this.gateOf(name);
    const reclaimed = this.reclaim(gate, now);
    const blocked = this.admitWaiters(name, gate, now);
    const used = unitsOf(gate);
    const tenantUsed = tenant === null ? 0 : tenantUnitsOf(gate, tenant);
    const held = gate.slots.get(holder);
    const refusedBy: RefusedBy | null =
      blocked || (limit !== null && limit > 0 && used + cost > limit)
        ? 'model'
        : tenant !== null && perTenant !== null && perTenant > 0 && tenantUsed + cost > perTenant
          ? 'tenant'
          : null;
    if (held === undefined && refusedBy !== null) {
      const position = this.enqueue(gate, holder, now, request, cost, tenant, perTenant);
      this.forgetIfEmpty(name, gate);
      return Promise.resolve({
        admitted: false,
        alreadyHeld: false,
        used,
        reclaimed,
        expiresAt: null,
        now,
        token: null,
        refusedBy,
        position,
        tenantUsed,
      });
    }
    const expiresAt = Math.max(held?.expiresAt ?? 0, now + leaseMs);
    const slot: Slot =
      held === undefined
        ? { expiresAt, token: this.nextToken(name, now), attempt, cost, tenant }
        : renew
          ? { ...held, expiresAt, token: this.nextToken(name, now), attempt }
          : { ...held, expiresAt };
    gate.slots.set(holder, slot);
    return Promise.resolve({
      admitted: true,
      alreadyHeld: held !== undefined,
      used: unitsOf(gate),
      reclaimed,
      expiresAt,
      now,
      token: slot.token,
      refusedBy: null,
      position: null,
      tenantUsed: slot.tenant === null ? 0 : tenantUnitsOf(gate, slot.tenant),
    });
  }

  release({ gate: name, holder, fence }: ReleaseRequest): Promise<ReleaseReply> {
    const gate = this.gates.get(name);
    // A release fenced to an attempt undoes that acquire whatever it became, a place in the
    // queue included (as in Redis).
    let leftQueue = false;
    if (gate && fence && 'attempt' in fence && gate.queue.get(holder)?.attempt === fence.attempt) {
      gate.queue.delete(holder);
      leftQueue = true;
    }
    const held = gate?.slots.get(holder);
    if (
      held &&
      fence &&
      !('token' in fence ? held.token === fence.token : held.attempt === fence.attempt)
    ) {
      if (leftQueue) this.admitWaiters(name, gate!, this.clock());
      return Promise.resolve({ released: false, stale: true, currentToken: held.token });
    }
    const released = gate?.slots.delete(holder) ?? false;
    if (gate) {
      if (released || leftQueue) this.admitWaiters(name, gate, this.clock());
      this.forgetIfEmpty(name, gate);
    }
    return Promise.resolve({ released, stale: false, currentToken: null });
  }

  extend({ gate: name, holder, leaseMs, token }: ExtendRequest): Promise<ExtendReply> {
    const now = this.clock();
    const gate = this.gates.get(name);
    const held = gate?.slots.get(holder);
    const lost = { extended: false, expiresAt: null, now, stale: false, currentToken: null };
    if (gate === undefined || held === undefined) return Promise.resolve(lost);
    if (token !== undefined && token !== held.token) {
      return Promise.resolve({ ...lost, stale: true, currentToken: held.token });
    }
    if (held.expiresAt <= now) {
      // The slot may already have been counted as free: bringing it back could over-admit.
      gate.slots.delete(holder);
      this.forgetIfEmpty(name, gate);
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

  usage(name: string, tenant?: string): Promise<UsageReply> {
    const now = this.clock();
    const gate = this.gates.get(name);
    let used = 0;
    let holders = 0;
    let tenantUsed = 0;
    for (const slot of gate?.slots.values() ?? []) {
      if (slot.expiresAt <= now) continue;
      holders++;
      used += slot.cost;
      if (tenant !== undefined && slot.tenant === tenant) tenantUsed += slot.cost;
    }
    return Promise.resolve({ used, now, holders, waiting: gate?.queue.size ?? 0, tenantUsed });
  }

  /**
   * The gates in name order, `count` per page; the cursor is the last name listed, so gates
   * added or emptied between pages never make another appear twice.
   */
  snapshot({ cursor, count }: SnapshotRequest): Promise<SnapshotReply> {
    const now = this.clock();
    const names = [...this.gates.keys()]
      .filter((name) => cursor === undefined || name > cursor)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = names.slice(0, Math.max(1, count));
    const gates: GateStateSnapshot[] = [];
    for (const name of page) {
      const gate = this.gates.get(name) as Gate;
      // As in Redis, where a gate without holders has no holders key for the scan to find.
      if (gate.slots.size > 0) gates.push(snapshotOf(name, gate, now));
    }
    const more = names.length > page.length;
    return Promise.resolve({ gates, cursor: more ? page[page.length - 1] : null });
  }

  holders(name: string): Promise<HoldersReply> {
    const now = this.clock();
    const holders = [...(this.gates.get(name)?.slots ?? [])]
      .filter(([, slot]) => slot.expiresAt > now)
      .map(([holder, { expiresAt, token, cost, tenant }]) => ({
        holder,
        expiresAt,
        token,
        cost,
        tenant,
      }))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.holder < b.holder ? -1 : 1));
    return Promise.resolve({ holders, now });
  }

  reconcile(request: ReconcileRequest): Promise<ReconcileReply> {
    const { gate: name, holders, leaseMs, removable, sparedPrefix } = request;
    const now = this.clock();
    const gate = this.gateOf(name);
    this.reclaim(gate, now);
    const wanted = new Set(holders);
    const named = removable && new Map(removable.map((r) => [r.holder, r.token]));
    let added = 0;
    let removed = 0;
    for (const [holder, slot] of [...gate.slots]) {
      if (wanted.has(holder) || (sparedPrefix && holder.startsWith(sparedPrefix))) continue;
      if (named && (!named.has(holder) || !matches(named.get(holder), slot.token))) continue;
      gate.slots.delete(holder);
      removed++;
    }
    for (const holder of wanted) {
      if (!gate.slots.has(holder)) {
        gate.slots.set(holder, {
          expiresAt: now + leaseMs,
          token: this.nextToken(name, now),
          attempt: '',
          cost: 1,
          tenant: null,
        });
        added++;
      }
    }
    this.admitWaiters(name, gate, now);
    const used = unitsOf(gate);
    this.forgetIfEmpty(name, gate);
    return Promise.resolve({ added, removed, used });
  }

  heartbeat({ gate: name, waiters, waiterLeaseMs }: HeartbeatRequest): Promise<WaiterState[]> {
    const now = this.clock();
    const gate = this.gateOf(name);
    this.reclaim(gate, now);
    this.admitWaiters(name, gate, now);
    const states = waiters.map(({ holder, attempt }) => {
      const waiter = gate.queue.get(holder);
      if (waiter?.attempt === attempt) {
        waiter.deadline = now + waiterLeaseMs;
        return { state: 'queued' as const, position: positionOf(gate, holder) };
      }
      return admittedState(gate, holder, attempt);
    });
    this.forgetIfEmpty(name, gate);
    return Promise.resolve(states);
  }

  leave({ gate: name, holder, attempt }: WaiterRequest): Promise<WaiterState> {
    const gate = this.gates.get(name);
    if (!gate) return Promise.resolve({ state: 'gone' });
    const waiter = gate.queue.get(holder);
    if (waiter?.attempt === attempt) {
      const position = positionOf(gate, holder);
      gate.queue.delete(holder);
      this.admitWaiters(name, gate, this.clock());
      this.forgetIfEmpty(name, gate);
      return Promise.resolve({ state: 'queued', position });
    }
    return Promise.resolve(admittedState(gate, holder, attempt));
  }

  subscribe(gate: string, listener: AdmissionListener): Promise<() => Promise<void>> {
    const listeners = this.listeners.get(gate) ?? new Set();
    listeners.add(listener);
    this.listeners.set(gate, listeners);
    return Promise.resolve(() => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(gate) === listeners) {
        this.listeners.delete(gate);
      }
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }

  /** Joins (or renews a place in) the queue when asked to wait; returns the place, or null. */
  private enqueue(
    gate: Gate,
    holder: string,
    now: number,
    request: AcquireRequest,
    cost: number,
    tenant: string | null,
    perTenant: number | null,
  ): number | null {
    const waiterLeaseMs = request.waiterLeaseMs ?? 0;
    if (waiterLeaseMs <= 0) return null;
    // Map.set on a queued holder keeps its place: the ticket stays, the attempt is this call's.
    gate.queue.set(holder, {
      deadline: now + waiterLeaseMs,
      leaseMs: request.leaseMs,
      limit: request.limit,
      perTenant,
      cost,
      attempt: request.attempt,
      tenant,
    });
    return positionOf(gate, holder);
  }

  /**
   * Hands free units to the queue in arrival order, as the Redis scripts do: waiters past their
   * heartbeat lease are dropped, the first live waiter that does not fit the model's limit
   * stops the walk, one whose tenant is at its share steps aside. Announces what it admitted.
   * Returns true when a waiter still blocks newcomers.
   */
  private admitWaiters(name: string, gate: Gate, now: number): boolean {
    if (gate.queue.size === 0) return false;
    let units = unitsOf(gate);
    const admitted: HandedAdmission[] = [];
    let blocked = false;
    let seen = 0;
    for (const [holder, waiter] of [...gate.queue]) {
      if (seen++ >= MAX_WAITERS_PER_HANDOFF) {
        blocked = true;
        break;
      }
      if (waiter.deadline <= now) {
        gate.queue.delete(holder);
        continue;
      }
      if (waiter.limit !== null && waiter.limit > 0 && units + waiter.cost > waiter.limit) {
        blocked = true;
        break;
      }
      if (
        waiter.tenant !== null &&
        waiter.perTenant !== null &&
        waiter.perTenant > 0 &&
        tenantUnitsOf(gate, waiter.tenant) + waiter.cost > waiter.perTenant
      ) {
        continue;
      }
      gate.queue.delete(holder);
      if (gate.slots.has(holder)) continue;
      const slot: Slot = {
        expiresAt: now + waiter.leaseMs,
        token: this.nextToken(name, now),
        attempt: waiter.attempt,
        cost: waiter.cost,
        tenant: waiter.tenant,
      };
      gate.slots.set(holder, slot);
      units += waiter.cost;
      admitted.push({
        holder,
        attempt: waiter.attempt,
        token: slot.token,
        expiresAt: slot.expiresAt,
        used: units,
        tenantUsed: slot.tenant === null ? 0 : tenantUnitsOf(gate, slot.tenant),
      });
    }
    if (admitted.length > 0) {
      const listeners = [...(this.listeners.get(name) ?? [])];
      // Announced after this step, as a message would be: listeners never run inside it.
      queueMicrotask(() => {
        for (const listener of listeners) listener(admitted);
      });
    }
    return blocked;
  }

  /** Like the Redis store's: one more than the last, never below the clock in microseconds. */
  private nextToken(gate: string, now: number): number {
    const token = Math.max((this.lastTokens.get(gate) ?? 0) + 1, now * 1000);
    this.lastTokens.set(gate, token);
    return token;
  }

  private gateOf(name: string): Gate {
    let gate = this.gates.get(name);
    if (!gate) {
      gate = { slots: new Map(), queue: new Map(), reclaimed: 0 };
      this.gates.set(name, gate);
    }
    return gate;
  }

  private reclaim(gate: Gate, now: number): number {
    let reclaimed = 0;
    for (const [holder, slot] of gate.slots) {
      if (slot.expiresAt <= now) {
        gate.slots.delete(holder);
        reclaimed++;
      }
    }
    if (reclaimed > 0) gate.reclaimed += reclaimed;
    return reclaimed;
  }

  private forgetIfEmpty(name: string, gate: Gate): void {
    // A gate that leaked is kept for its count, as Redis keeps the book of an idle gate.
    if (gate.slots.size === 0 && gate.queue.size === 0 && gate.reclaimed === 0) {
      this.gates.delete(name);
    }
  }
}

/** One gate's state at `now`: live holders and units, lease ends, ended leases not reclaimed. */
function snapshotOf(name: string, gate: Gate, now: number): GateStateSnapshot {
  let used = 0;
  let holders = 0;
  let ended = 0;
  let soonest: number | null = null;
  let latest: number | null = null;
  for (const slot of gate.slots.values()) {
    if (slot.expiresAt <= now) {
      ended++;
      continue;
    }
    holders++;
    used += slot.cost;
    soonest = soonest === null ? slot.expiresAt : Math.min(soonest, slot.expiresAt);
    latest = latest === null ? slot.expiresAt : Math.max(latest, slot.expiresAt);
  }
  return {
    gate: name,
    used,
    holders,
    waiting: gate.queue.size,
    soonestLeaseEnd: soonest,
    latestLeaseEnd: latest,
    ended,
    reclaimed: gate.reclaimed,
    now,
  };
}

function unitsOf(gate: Gate): number {
  let units = 0;
  for (const slot of gate.slots.values()) units += slot.cost;
  return units;
}

function tenantUnitsOf(gate: Gate, tenant: string): number {
  let units = 0;
  for (const slot of gate.slots.values()) if (slot.tenant === tenant) units += slot.cost;
  return units;
}

function positionOf(gate: Gate, holder: string): number {
  let position = 1;
  for (const queued of gate.queue.keys()) {
    if (queued === holder) return position;
    position++;
  }
  return 0;
}

function admittedState(gate: Gate, holder: string, attempt: string): WaiterState {
  const slot = gate.slots.get(holder);
  if (slot?.attempt !== attempt) return { state: 'gone' };
  return { state: 'admitted', token: slot.token, expiresAt: slot.expiresAt, used: unitsOf(gate) };
}

function matches(named: number | undefined, token: number): boolean {
  return named === undefined || named === token;
}
