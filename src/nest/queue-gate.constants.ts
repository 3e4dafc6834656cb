/** Injection token of the module options. */
export const QUEUE_GATE_OPTIONS = Symbol('QUEUE_GATE_OPTIONS');

/** Injection token of the store handle (the store plus the client the module owns, if any). */
export const QUEUE_GATE_STORE_HANDLE = Symbol('QUEUE_GATE_STORE_HANDLE');

/** Injection token of the EventEmitter2 the module listens on and emits to (or null). */
export const QUEUE_GATE_EVENT_EMITTER = Symbol('QUEUE_GATE_EVENT_EMITTER');

/** Default bound on each step of shutdown (ending open responses, delivering releases), in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
