import type { GateStore, HandedAdmission, WaiterState } from './gate-store';
import type { GateLogger } from './gate-logger';
import { errorMessage } from './errors/error-message';

/**
 * How a wait ended, as the room learnt it: admitted, its place lapsed, or the gate is closing
 * (the call must leave the queue).
 */
export type WaitOutcome =
  | { state: 'admitted'; token: number; expiresAt: number; used: number; tenantUsed: number | null }
  | { state: 'gone' }
  | { state: 'closing' };

/** One call waiting in a gate's queue, as this process tracks it. */
export interface WaitTicket {
  /** Settles when an admission handed to this call is seen, or its place lapsed. */
  readonly outcome: Promise<WaitOutcome>;
  /** Resolves once the gate's announcements reach this process (or could not be listened to). */
  readonly listening: Promise<void>;
  /** The store queued the call: from now on the heartbeat renews its place. */
  queued(listeningBeforeIt: boolean): void;
  /** Stops tracking the call (it was admitted, left, or gave up). */
  exit(): void;
}

/** What the room needs from the gate around it. */
export interface WaitRoomOptions {
  /** A waiter's place holds this long without a heartbeat; renewed every third of it. */
  waiterLeaseMs: number;
  /** Bounds a store call by the gate's command timeout. */
  bounded: <T>(work: Promise<T>) => Promise<T>;
  logger: GateLogger;
}

interface Waiter {
  holder: string;
  attempt: string;
  isQueued: boolean;
  settle: (outcome: WaitOutcome) => void;
  /** Resolves when the call stops being tracked. */
  exited: Promise<void>;
}

interface GateRoom {
  waiters: Map<string, Waiter>;
  listening: Promise<void>;
  isListening: boolean;
  stopListening: Promise<(() => Promise<void>) | undefined>;
  timer: NodeJS.Timeout;
}

/**
 * This process's waiters, per gate: one subscription to the gate's announcements and one
 * heartbeat timer per gate, however many calls wait on it. An announcement settles the waiter it
 * names; the heartbeat renews every place in one store call and reports what an announcement
 * lost on the way would have said, so a lost message delays a waiter, never strands it.
 */
export class WaitRoom {
  private readonly gates = new Map<string, GateRoom>();
  /** Set by `close`: calls that start waiting from then on leave at once. */
  private closing = false;

  constructor(
    private readonly store: GateStore,
    private readonly options: WaitRoomOptions,
  ) {}

  /** Tracks a call before its acquire is sent, so an admission announced at once is not missed. */
  enter(gate: string, holder: string, attempt: string): WaitTicket {
    // No heartbeat or subscription would serve a call that starts waiting during close: it is
    // told at once, so it leaves the queue if its acquire queued it.
    if (this.closing) return closedTicket();
    const room = this.roomOf(gate);
    const id = waiterId(holder, attempt);
    let settle!: (outcome: WaitOutcome) => void;
    const outcome = new Promise<WaitOutcome>((resolve) => (settle = resolve));
    let exited!: () => void;
    const waiter: Waiter = {
      holder,
      attempt,
      isQueued: false,
      settle,
      exited: new Promise<void>((resolve) => (exited = resolve)),
    };
    room.waiters.set(id, waiter);
    return {
      outcome,
      listening: room.listening,
      queued: (listeningBeforeIt) => {
        waiter.isQueued = true;
        // An admission announced before the subscription took effect was missed: ask now.
        if (!listeningBeforeIt) void room.listening.then(() => this.beat(gate, room));
      },
      exit: () => {
        exited();
        if (room.waiters.get(id) === waiter) room.waiters.delete(id);
        if (room.waiters.size === 0) void this.closeRoom(gate, room);
      },
    };
  }

  /** True once the gate's announcements reach this process. */
  isListening(gate: string): boolean {
    return this.gates.get(gate)?.isListening === true;
  }

  /**
   * Tells every waiting call to leave its queue, waits until they have (each leave is bounded by
   * the command timeout), then stops every timer and subscription.
   */
  async close(): Promise<void> {
    this.closing = true;
    const rooms = [...this.gates.entries()];
    const waiters = rooms.flatMap(([, room]) => [...room.waiters.values()]);
    for (const waiter of waiters) waiter.settle({ state: 'closing' });
    await Promise.all(waiters.map((waiter) => waiter.exited));
    await Promise.all(rooms.map(([gate, room]) => this.closeRoom(gate, room)));
  }

  private roomOf(gate: string): GateRoom {
    const existing = this.gates.get(gate);
    if (existing) return existing;
    const stopListening = this.options
      .bounded(this.store.subscribe(gate, (admissions) => this.announced(gate, admissions)))
      .catch((error: unknown) => {
        this.options.logger.warn(
          `Queue gate "${gate}": cannot listen for admissions (${errorMessage(error)}); ` +
            'waiters learn of them by the heartbeat.',
        );
        return undefined;
      });
    const room: GateRoom = {
      waiters: new Map(),
      listening: stopListening.then(() => undefined),
      isListening: false,
      stopListening,
      timer: setInterval(
        () => void this.beat(gate, room),
        Math.max(1, Math.floor(this.options.waiterLeaseMs / 3)),
      ),
    };
    void stopListening.then((stop) => (room.isListening = stop !== undefined));
    room.timer.unref();
    this.gates.set(gate, room);
    return room;
  }

  private closeRoom(gate: string, room: GateRoom): Promise<void> {
    clearInterval(room.timer);
    if (this.gates.get(gate) === room) this.gates.delete(gate);
    return room.stopListening.then((stop) => stop?.()).catch(() => undefined);
  }

  private announced(gate: string, admissions: HandedAdmission[]): void {
    const room = this.gates.get(gate);
    if (!room) return;
    for (const { holder, attempt, token, expiresAt, used, tenantUsed } of admissions) {
      room.waiters
        .get(waiterId(holder, attempt))
        ?.settle({ state: 'admitted', token, expiresAt, used, tenantUsed });
    }
  }

  /** One heartbeat for every queued waiter of the gate; a failure waits for the next one. */
  private async beat(gate: string, room: GateRoom): Promise<void> {
    const waiters = [...room.waiters.values()].filter((waiter) => waiter.isQueued);
    if (waiters.length === 0) return;
    let states: WaiterState[];
    try {
      states = await this.options.bounded(
        this.store.heartbeat({
          gate,
          waiters: waiters.map(({ holder, attempt }) => ({ holder, attempt })),
          waiterLeaseMs: this.options.waiterLeaseMs,
        }),
      );
    } catch (error) {
      this.options.logger.debug?.(
        `Queue gate "${gate}": waiters' heartbeat failed (${errorMessage(error)}); retrying.`,
      );
      return;
    }
    states.forEach((state, i) => {
      const waiter = waiters[i];
      if (state.state === 'admitted') {
        waiter?.settle({ ...state, tenantUsed: null });
      } else if (state.state === 'gone') {
        waiter?.settle({ state: 'gone' });
      }
    });
  }
}

function closedTicket(): WaitTicket {
  return {
    outcome: Promise.resolve({ state: 'closing' }),
    listening: Promise.resolve(),
    queued: () => undefined,
    exit: () => undefined,
  };
}

function waiterId(holder: string, attempt: string): string {
  return `${attempt}:${holder}`;
}
