/**
 * One string for a (gate, holder) pair, for maps keyed by both. JSON keeps the two parts apart
 * whatever characters they hold; joining them with a separator would let `("a\0b", "c")` and
 * `("a", "b\0c")` collide.
 */
export function pairKey(gate: string, holder: string): string {
  return JSON.stringify([gate, holder]);
}
