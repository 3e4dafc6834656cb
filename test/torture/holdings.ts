import type { QueueGate } from '../../src';
import type { LedgerWriter } from './ledger';

/** An admission a process is using right now. */
export interface Holding {
  admission: string;
  model: string;
  taskId: string;
  token: number | null;
}

/** The admissions a process holds, so that the lease prober knows what to look for. */
export class Holdings {
  private readonly held = new Map<string, Holding>();

  add(holding: Holding): void {
    this.held.set(holding.admission, holding);
  }

  delete(admission: string): void {
    this.held.delete(admission);
  }

  has(admission: string): boolean {
    return this.held.has(admission);
  }

  get size(): number {
    return this.held.size;
  }

  values(): Holding[] {
    return [...this.held.values()];
  }
}

/**
 * Reads the gate's holders every `everyMs` and writes, for each admission this process still
 * holds, the lease end the gate shows for it. Keep-alives move lease ends without telling us;
 * these reads give the checker a lease end the admission certainly reached. A read is only
 * written when the admission was held both before and after it (no end recorded in between) and
 * the gate shows the same token, so it never describes another admission of the same task.
 */
export function probeLeases(
  gate: Pick<QueueGate, 'holders'>,
  holdings: Holdings,
  ledger: LedgerWriter,
  everyMs: number,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void probeOnce(gate, holdings, ledger).finally(() => (running = false));
  }, everyMs);
  return () => clearInterval(timer);
}

async function probeOnce(
  gate: Pick<QueueGate, 'holders'>,
  holdings: Holdings,
  ledger: LedgerWriter,
): Promise<void> {
  const before = holdings.values();
  for (const model of new Set(before.map((holding) => holding.model))) {
    let holders: Awaited<ReturnType<QueueGate['holders']>>;
    try {
      holders = await gate.holders(model);
    } catch {
      continue; // Redis is being tortured; the next round will read it.
    }
    const at = Date.now();
    for (const holding of before) {
      if (holding.model !== model || !holdings.has(holding.admission)) continue;
      const seen = holders.find((holder) => holder.taskId === holding.taskId);
      if (!seen) continue;
      if (holding.token !== null && seen.token !== holding.token) continue;
      ledger.write({ kind: 'lease', ...holding, at, leaseEnd: seen.expiresAt });
    }
  }
}
