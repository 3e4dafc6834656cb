import type { HttpCounts } from './checker';
import { EVENT_MODELS, TASK_WAIT_SECONDS, TENANTS } from './config';
import { type Prng, streamOf } from './prng';

/** Longest wait for any one request; past it the client gives up (counted as a network error). */
const REQUEST_TIMEOUT_MS = 20_000;

/** Share of task requests and of streams sent to the route that waits for its slot. */
const WAITING_SHARE = 0.4;

/** What the clients saw of the routes that wait for their slot (`waitSeconds`). */
export interface WaitCounts {
  /** Requests and streams sent to a waiting route. */
  requests: number;
  /** Of those, answered 2xx. */
  admitted: number;
  /** 429 after waiting out `waitSeconds` in the queue: it says its place (`Queue-Position`). */
  timeouts: number;
  /** 429 without a place: refused without joining the queue, or its place lapsed. */
  refusedWithoutPlace: number;
  /** 429 whose body names the tenant's share (`limitHit: 'tenant'`). */
  tenantRefusals: number;
  /** Left by the client while waiting or streaming (also counted in `HttpCounts.aborted`). */
  aborted: number;
}

export function emptyWaitCounts(): WaitCounts {
  return {
    requests: 0,
    admitted: 0,
    timeouts: 0,
    refusedWithoutPlace: 0,
    tenantRefusals: 0,
    aborted: 0,
  };
}

/** One request of a client. */
interface Planned {
  url: string;
  method: 'GET' | 'POST';
  /** The client leaves after this long (aborts the request, or closes the stream). */
  leaveAfterMs?: number;
  headers?: Record<string, string>;
  waiting: boolean;
}

/**
 * The load generator: `clients` concurrent loops, each with its own PRNG stream, sending task
 * requests and opening streams against random API apps, part of them on the routes that wait
 * for a slot. Some requests are aborted early, some while they wait, and some streams are left
 * mid-way, as real clients do.
 */
export class LoadGenerator {
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Requests in flight, so that `stop` can leave them as a client that goes away. */
  private readonly inFlight = new Set<() => void>();

  constructor(
    private readonly urls: readonly string[],
    private readonly seed: number,
    private readonly clients: number,
    readonly counts: HttpCounts,
    readonly waits: WaitCounts = emptyWaitCounts(),
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.clients }, (_, i) =>
      this.loop(streamOf(this.seed, `client-${i}`)),
    );
  }

  /** Stops sending, leaves the requests and streams in flight, and waits for the loops. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const leave of this.inFlight) leave();
    await Promise.all(this.loops);
  }

  private async loop(rng: Prng): Promise<void> {
    while (!this.stopped) {
      await this.request(plan(rng, this.urls));
      await sleep(rng.int(10, 120));
    }
  }

  /** One request read to its end, or left by the client after `leaveAfterMs`. */
  private async request({ url, method, leaveAfterMs, headers, waiting }: Planned): Promise<void> {
    const controller = new AbortController();
    let aborted = false;
    const leave = () => {
      aborted = true;
      controller.abort();
    };
    this.inFlight.add(leave);
    const abort = leaveAfterMs === undefined ? undefined : setTimeout(leave, leaveAfterMs);
    const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    if (waiting) this.waits.requests++;
    try {
      const response = await fetch(url, { method, headers, signal: controller.signal });
      this.count(response.status);
      const body = await response.text();
      if (waiting) this.countWaiting(response, body);
    } catch {
      if (aborted) {
        this.counts.aborted++;
        if (waiting) this.waits.aborted++;
      } else {
        this.counts.networkErrors++;
      }
    } finally {
      this.inFlight.delete(leave);
      clearTimeout(abort);
      clearTimeout(timeout);
    }
  }

  private count(status: number): void {
    if (status >= 200 && status < 300) this.counts.ok++;
    else if (status === 429) this.counts.tooMany++;
    else if (status === 503) this.counts.unavailable++;
    else if (status >= 500) this.counts.serverErrors++;
    else this.counts.other++;
  }

  private countWaiting(response: Response, body: string): void {
    if (response.status >= 200 && response.status < 300) this.waits.admitted++;
    if (response.status !== 429) return;
    if (response.headers.has('queue-position')) this.waits.timeouts++;
    else this.waits.refusedWithoutPlace++;
    if (limitHitOf(body) === 'tenant') this.waits.tenantRefusals++;
  }
}

/**
 * The next request of a client: 30 % streams of 0.2–6 s (30 % left mid-stream), 70 % task
 * requests (7 % aborted within 40 ms); of each, 40 % on the route that waits for its slot. A
 * waiting task request names a tenant, and 10 % of them are left while they may still wait.
 */
function plan(rng: Prng, urls: readonly string[]): Planned {
  const url = rng.pick(urls);
  const waiting = rng.chance(WAITING_SHARE);
  if (rng.chance(0.3)) {
    const lastsMs = rng.int(200, 6_000);
    const leaveAfterMs = rng.chance(0.3) ? rng.int(0, lastsMs) : undefined;
    const path = waiting ? 'waiting-stream' : 'stream';
    return { url: `${url}/${path}?ms=${lastsMs}`, method: 'GET', leaveAfterMs, waiting };
  }
  const model = rng.pick(Object.keys(EVENT_MODELS));
  if (!waiting) {
    const leaveAfterMs = rng.chance(0.07) ? rng.int(0, 40) : undefined;
    return { url: `${url}/models/${model}/tasks`, method: 'POST', leaveAfterMs, waiting };
  }
  const tenant = rng.pick(TENANTS);
  const leaveAfterMs = rng.chance(0.1) ? rng.int(0, TASK_WAIT_SECONDS * 1000) : undefined;
  return {
    url: `${url}/models/${model}/waiting-tasks`,
    method: 'POST',
    leaveAfterMs,
    headers: { 'x-tenant': tenant },
    waiting,
  };
}

/** The `limitHit` of a 429's JSON body, if it has one. */
function limitHitOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { limitHit?: unknown }).limitHit;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
