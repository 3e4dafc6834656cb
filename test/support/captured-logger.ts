import type { LoggerService } from '@nestjs/common';

/** One log line written through Nest's logger while an app ran. */
export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/**
 * The tests' one capturing logger: a Nest `LoggerService` for apps, and a `GateLogger` for a
 * `QueueGate` built by hand. It keeps what is logged instead of printing it, so the suites stay
 * quiet and a test can check what the gate told the operator (a warning once per outage).
 */
export class CapturedLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.keep('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.keep('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.keep('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.keep('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.keep('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.keep('fatal', message, rest);
  }

  /** Messages logged at level `log`, `warn` and `error`, whatever their context. */
  get logs(): string[] {
    return this.messages('log');
  }
  get warnings(): string[] {
    return this.messages('warn');
  }
  get errors(): string[] {
    return this.messages('error');
  }

  /** Lines of `level` from the gate's own logger. */
  fromGate(level: LogLine['level']): string[] {
    return this.lines
      .filter((line) => line.level === level && line.context === 'QueueGate')
      .map((line) => line.message);
  }

  private messages(level: LogLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }

  private keep(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    // Nest passes the logger's context as the last argument.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const text = message instanceof Error ? message.message : String(message);
    this.lines.push({ level, message: text, context });
  }
}
