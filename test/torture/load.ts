import type { HttpCounts } from './checker';
import { EVENT_MODELS } from './config';
import { type Prng, streamOf } from './prng';

/** Longest wait for any one request; past it the client gives up (counted as a network error). */
const REQUEST_TIMEOUT_MS = 20_000;

/**
 * The load generator: `clients` concurrent loops, each with its own PRNG stream, sending task
 * requests and opening streams against random API apps. Some requests are aborted early and
 * some streams left mid-way, as real clients do.
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
    const models = Object.keys(EVENT_MODELS);
    while (!this.stopped) {
      const url = rng.pick(this.urls);
      if (rng.chance(0.3)) {
        const lastsMs = rng.int(200, 6_000);
        const leaveAfterMs = rng.chance(0.3) ? rng.int(0, lastsMs) : undefined;
        await this.request(`${url}/stream?ms=${lastsMs}`, 'GET', leaveAfterMs);
      } else {
        const abortAfterMs = rng.chance(0.07) ? rng.int(0, 40) : undefined;
        await this.request(`${url}/models/${rng.pick(models)}/tasks`, 'POST', abortAfterMs);
      }
      await sleep(rng.int(10, 120));
    }
  }

  /** One request read to its end, or aborted by the client after `abortAfterMs`. */
  private async request(url: string, method: string, abortAfterMs?: number): Promise<void> {
    const controller = new AbortController();
    let aborted = false;
    const leave = () => {
      aborted = true;
      controller.abort();
    };
    this.inFlight.add(leave);
    const abort = abortAfterMs === undefined ? undefined : setTimeout(leave, abortAfterMs);
    const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, { method, signal: controller.signal });
      this.count(response.status);
      await response.arrayBuffer();
    } catch {
      if (aborted) this.counts.aborted++;
      else this.counts.networkErrors++;
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
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
