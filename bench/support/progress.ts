/**
 * Progress lines go to stderr so that stdout carries only the markdown report and can be
 * redirected into a file as it is.
 */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
