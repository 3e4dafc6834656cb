import type { Redis } from 'ioredis';

/** Gives back a slot that a contender took. */
export type Release = () => Promise<unknown>;

/** One way of running a distributed gate: ours through the service, raw, EVAL per call, a library's. */
export interface Contender {
  readonly name: string;
  /**
   * The Redis commands the client itself sends. Their commandstats usec includes every command
   * a script calls, so summing these, and only these, gives the server time of a call.
   */
  readonly clientCommands: readonly string[];
  /** One acquire attempt: how to release the slot it took, or null when the gate was full. */
  tryAcquire(): Promise<Release | null>;
  /** Empties the gate, so every run starts from the same state. */
  reset(): Promise<unknown>;
}

/** Builds a contender on one gate with one limit, over its own connection. */
export interface ContenderKind {
  readonly name: string;
  create(client: Redis, gate: string, limit: number): Contender;
}
