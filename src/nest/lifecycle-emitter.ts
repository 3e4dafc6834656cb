/**
 * What the gate needs of an event emitter: EventEmitter2 from `@nestjs/event-emitter`
 * satisfies it. Declared here so the package's types never require the optional peer.
 */
export interface LifecycleEmitter {
  /** Subscribes a listener to an event. */
  on(event: string, listener: (...args: any[]) => unknown): unknown;
  /** Unsubscribes a listener. */
  off(event: string, listener: (...args: any[]) => unknown): unknown;
  /** Emits an event to its listeners. */
  emit(event: string, ...values: unknown[]): boolean;
}
