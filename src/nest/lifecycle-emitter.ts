/**
 * What the gate needs of an event emitter: EventEmitter2 from `@nestjs/event-emitter`
 * satisfies it. Declared here so the package's types never require the optional peer.
 */
export interface LifecycleEmitter {
  on(event: string, listener: (...args: any[]) => unknown): unknown;
  off(event: string, listener: (...args: any[]) => unknown): unknown;
  emit(event: string, ...values: unknown[]): boolean;
}
