import type { RunSettings } from './config';

/** Messages between the parent and each child process of the run, over Node's IPC channel. */

export type ParentMessage = { type: 'stop' } | { type: 'status' };

export type ChildMessage =
  /** Booted; an API app also gives its HTTP port. */
  | { type: 'ready'; port?: number }
  /** Answer to `status`: tasks a worker is running now. */
  | { type: 'status'; running: number }
  | { type: 'failed'; error: string };

/** What a child finds in its argv: the run's settings and its own process label. */
export function childArgs(): { settings: RunSettings; label: string } {
  const [json, label] = process.argv.slice(2);
  if (!json || !label) throw new Error('a torture child needs its settings and label as arguments');
  return { settings: JSON.parse(json) as RunSettings, label };
}

export function send(message: ChildMessage): void {
  process.send?.(message);
}
