/** The logging the gate needs; Nest's `Logger` satisfies it. */
export interface GateLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug?(message: string): void;
}

/** A logger that drops everything, for callers that want silence. */
export const SILENT_LOGGER: GateLogger = { log() {}, warn() {}, error() {} };
