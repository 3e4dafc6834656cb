/** Renders a rejected value for an error message: short, quoted when a string, never throwing. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
    return `${JSON.stringify(shown)} (string of length ${value.length})`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} (${typeof value})`;
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return describeObject(value);
}

/** A plain object by its keys (`an object with keys uri, port`); another by its class name. */
function describeObject(value: object): string {
  const name = value.constructor?.name;
  if (name && name !== 'Object') return `an instance of ${name}`;
  const keys = Object.keys(value);
  if (keys.length === 0) return 'an empty object';
  const shown = keys.slice(0, 8).join(', ') + (keys.length > 8 ? ', …' : '');
  return `an object with key${keys.length === 1 ? '' : 's'} ${shown}`;
}
