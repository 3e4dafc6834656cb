/**
 * One string for a (gate, holder) pair, for maps keyed by both. Each part is preceded by its
 * length, so the parts stay apart whatever characters they hold, and so does anything appended
 * (a fence): joining them with a separator would let `("a\0b", "c")` and `("a", "b\0c")`
 * collide. Cheaper than JSON, and it is built on every acquire and release.
 */
export function pairKey(gate: string, holder: string): string {
  return `${gate.length}:${gate}${holder.length}:${holder}`;
}
