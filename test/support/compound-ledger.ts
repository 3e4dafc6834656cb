import type { LedgerEntry } from './compound-protocol';

/** The most any instant of a ledger held: units in all, units per tenant, holders. */
export interface LedgerPeaks {
  units: number;
  /** Per tenant that appears in the ledger. */
  tenants: Record<string, number>;
  holders: number;
}

/**
 * Sweeps the ledger's intervals in sequence order and returns the peaks. Each entry's interval
 * lies inside the span its units were really held, so a peak above a limit proves that the gate
 * let that many in at once (never a false alarm); sequence numbers are unique, so no two events
 * tie.
 */
export function ledgerPeaks(entries: readonly LedgerEntry[]): LedgerPeaks {
  const events = entries
    .flatMap(({ cost, tenant, start, end }) => {
      if (!(start < end)) throw new Error(`ledger entry ends (${end}) before it starts (${start})`);
      return [
        { at: start, units: cost, tenant, holders: 1 },
        { at: end, units: -cost, tenant, holders: -1 },
      ];
    })
    .sort((a, b) => a.at - b.at);
  const peaks: LedgerPeaks = { units: 0, tenants: {}, holders: 0 };
  const tenantUnits = new Map<string, number>();
  let units = 0;
  let holders = 0;
  for (const event of events) {
    units += event.units;
    holders += event.holders;
    peaks.units = Math.max(peaks.units, units);
    peaks.holders = Math.max(peaks.holders, holders);
    if (event.tenant !== null) {
      const now = (tenantUnits.get(event.tenant) ?? 0) + event.units;
      tenantUnits.set(event.tenant, now);
      peaks.tenants[event.tenant] = Math.max(peaks.tenants[event.tenant] ?? 0, now);
    }
  }
  return peaks;
}
