/**
 * Decides which unknown holders a periodic reconcile may remove: only those found unknown in
 * two consecutive rounds. A holder admitted between the application's read of its database and
 * the reconcile looks unknown once; by the next round its task is recorded and it is spared.
 */
export class StaleHolders {
  private readonly suspects = new Map<string, Set<string>>();

  /**
   * Records this round's unknown holders of a gate (live holders missing from the active
   * list) and returns the ones that were already unknown last round.
   */
  confirm(gate: string, unknown: readonly string[]): string[] {
    const before = this.suspects.get(gate) ?? new Set<string>();
    const confirmed = unknown.filter((holder) => before.has(holder));
    const stillSuspect = unknown.filter((holder) => !before.has(holder));
    if (stillSuspect.length > 0) this.suspects.set(gate, new Set(stillSuspect));
    else this.suspects.delete(gate);
    return confirmed;
  }
}
