import type {
  AcquireRequest,
  AdmissionListener,
  ExtendRequest,
  GateStore,
  HeartbeatRequest,
  ReconcileRequest,
  ReleaseRequest,
  WaiterRequest,
} from '../../src/core/gate-store';
import { MemoryGateStore } from '../../src/store/memory/memory-gate-store';

export type StoreMethod = keyof GateStore;

/** A store call held by {@link FaultyStore.holdNext}, whose fate the test decides. */
export interface HeldCall {
  /** Resolves once the call reached the store. */
  arrived: Promise<void>;
  /** Runs the call on the store now and answers it. */
  land(): void;
  /** Answers the call with an error; it never ran. */
  fail(error?: Error): void;
}

/**
 * A store for failure injection around a real {@link MemoryGateStore}. `down` makes every call
 * reject; `stall` holds every call until `resume`, after which they run in the order they were
 * sent, as commands on one Redis connection would once the connection answers again;
 * `holdNext` holds one call of a method alone (a command on a connection that then drops).
 */
export class FaultyStore implements GateStore {
  readonly inner: MemoryGateStore;
  readonly calls: { method: StoreMethod; holder?: string; request?: unknown }[] = [];
  down = false;
  private chain: Promise<unknown> = Promise.resolve();
  private release_: (() => void) | undefined;
  private readonly holds = new Map<
    StoreMethod,
    (run: () => void, fail: (e: Error) => void) => void
  >();

  constructor(clock: () => number = Date.now) {
    this.inner = new MemoryGateStore(clock);
  }

  stall(): void {
    this.chain = this.chain.then(() => new Promise<void>((resolve) => (this.release_ = resolve)));
  }

  resume(): void {
    this.release_?.();
  }

  /** Holds the next call of `method`, outside the order of the other calls. */
  holdNext(method: StoreMethod): HeldCall {
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    let decide!: { run: () => void; fail: (error: Error) => void };
    this.holds.set(method, (run, fail) => {
      decide = { run, fail };
      arrive();
    });
    return {
      arrived,
      land: () => decide.run(),
      fail: (error = new Error('read ECONNRESET')) => decide.fail(error),
    };
  }

  acquire(request: AcquireRequest) {
    return this.run('acquire', request, () => this.inner.acquire(request));
  }
  release(request: ReleaseRequest) {
    return this.run('release', request, () => this.inner.release(request));
  }
  extend(request: ExtendRequest) {
    return this.run('extend', request, () => this.inner.extend(request));
  }
  usage(gate: string, tenant?: string) {
    return this.run('usage', undefined, () => this.inner.usage(gate, tenant));
  }
  holders(gate: string) {
    return this.run('holders', undefined, () => this.inner.holders(gate));
  }
  reconcile(request: ReconcileRequest) {
    return this.run('reconcile', undefined, () => this.inner.reconcile(request));
  }
  heartbeat(request: HeartbeatRequest) {
    return this.run('heartbeat', undefined, () => this.inner.heartbeat(request));
  }
  leave(request: WaiterRequest) {
    return this.run('leave', request, () => this.inner.leave(request));
  }
  subscribe(gate: string, listener: AdmissionListener) {
    return this.run('subscribe', undefined, () => this.inner.subscribe(gate, listener));
  }
  close() {
    return this.inner.close();
  }

  /** Holder ids of the live slots of `gate`, straight from the inner store. */
  async held(gate: string): Promise<string[]> {
    return (await this.inner.holders(gate)).holders.map(({ holder }) => holder);
  }

  /** The requests of the calls of `method` so far. */
  requestsOf<R>(method: StoreMethod): R[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.request as R);
  }

  private run<T>(
    method: StoreMethod,
    request: { holder: string } | undefined,
    work: () => Promise<T>,
  ) {
    this.calls.push({ method, holder: request?.holder, request });
    if (this.down) return Promise.reject(new Error(`connect ECONNREFUSED (${method})`));
    const hold = this.holds.get(method);
    if (hold) {
      this.holds.delete(method);
      return new Promise<T>((resolve, reject) =>
        hold(() => void work().then(resolve, reject), reject),
      );
    }
    const result = this.chain.then(work);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
