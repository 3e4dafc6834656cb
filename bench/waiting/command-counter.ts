import { type Command, Redis } from 'ioredis';

/**
 * Counts, by name, every command that any ioredis connection of this process sends while
 * `counting()` is true: the prototype is wrapped, not one client, so connections a library
 * opens for itself (QueueGate's subscriber is a duplicate of the client it is given) are
 * counted too, and so are releases, retries, SUBSCRIBE and any keep-alive. A command that
 * passes through `sendCommand` twice (queued while offline, then flushed) counts once.
 */
export function countCommands(counting: () => boolean): Map<string, number> {
  const counts = new Map<string, number>();
  const seen = new WeakSet<Command>();
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, command, stream) {
    if (!seen.has(command) && counting()) {
      seen.add(command);
      counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    }
    return send.call(this, command, stream);
  };
  return counts;
}
