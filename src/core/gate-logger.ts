/** The logging the gate needs; Nest's `Logger` satisfies it. */
export interface GateLogger {
  /** An informational line (a queued release landed, a store came back). */
  log(message: string): void;
  /** A line worth attention (a release queued, a lease lost, an outage). */
  warn(message: string): void;
  /** A failure (a release dropped or undelivered). */
  error(message: string, stack?: string): void;
  /** Detail, when the logger has a debug level. */
  debug?(message: string): void;
}

/** A logger that drops everything, for callers that want silence. */
export const SILENT_LOGGER: GateLogger = { log() {}, warn() {}, error() {} };
