import type { Holding, Holdings } from './holdings';
import type { LedgerWriter } from './ledger';

/** Key of a request's {@link StreamState} on the request object. */
export const STREAM_STATE = Symbol('torture:stream-state');

/**
 * The ledger side of one stream request. Created by a middleware, which runs before the gate's
 * guard: its listeners on the request's and response's 'close' and the response's 'finish' are
 * therefore called before any listener the gate adds to the same events, so whatever ends the
 * stream (the server completing it, the client leaving), its end is written before the slot's
 * release is sent. The first end wins; later ones change nothing.
 */
export class StreamState {
  private over = false;
  private held: Holding | undefined;

  constructor(
    private readonly ledger: LedgerWriter,
    private readonly streams: Holdings,
  ) {}

  /** Watches the request and response this state belongs to. */
  watch(request: Emitter, response: Emitter): void {
    request.once('close', () => this.end('request-closed'));
    response.once('finish', () => this.end('response-finished'));
    response.once('close', () => this.end('response-closed'));
  }

  /** False when the stream is already over: the handler must not count it as admitted. */
  get open(): boolean {
    return !this.over;
  }

  /** The handler wrote the admission of `held`; its end is now owed. */
  hold(held: Holding): void {
    this.held = held;
    this.streams.add(held);
  }

  end(reason: string): void {
    if (this.over) return;
    this.over = true;
    if (!this.held) return;
    this.streams.delete(this.held.admission);
    this.ledger.write({ kind: 'end', ...this.held, at: Date.now(), reason });
  }
}

interface Emitter {
  once(event: string, listener: () => void): unknown;
}
