import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The ledger: what each process knew about each admission, one JSON object a line, one file per
 * process. An admission is written only after the gate said admitted, and its end before the
 * release is sent, so each ledger interval lies inside the real holding interval; the checker
 * can then trust any overlap it finds. Writes are synchronous so that a SIGKILLed process
 * leaves everything it wrote up to its last instruction.
 */

/** Fields every admission record carries. */
interface AdmissionFields {
  /** Unique per admission across the run (writer's process label and a counter). */
  admission: string;
  model: string;
  taskId: string;
  /** Fencing token of the admission; null when the gate gave none. */
  token: number | null;
}

/** The gate admitted a task (the first slot of a request, or a retry). */
export interface AdmitRecord extends AdmissionFields {
  kind: 'admit';
  at: number;
  /** A lease end the admission certainly has (ms, Redis clock on this machine). */
  leaseEnd: number;
  /** 0 for the request's own slot, n for the n-th retry. */
  attempt: number;
  /** The tenant the admission counts for (a waiting task request's); absent for none. */
  tenant?: string;
  /** 'waiting' for a request of a route that waits for its slot (`waitSeconds`). */
  route?: 'waiting';
}

/** A lease end read back from the gate (the holder was seen with this lease end). */
export interface LeaseRecord extends AdmissionFields {
  kind: 'lease';
  at: number;
  leaseEnd: number;
}

/** The holder stopped using the slot; written before its release is sent. */
export interface EndRecord extends AdmissionFields {
  kind: 'end';
  at: number;
  /** succeeded, failed, lease-lost, stream-done, response-closed, push-failed, ... */
  reason: string;
  /** True when the holder never used the slot (it found it gone before starting). */
  idle?: boolean;
}

/** A fault the parent injected. */
export interface FaultRecord {
  kind: 'fault';
  at: number;
  fault: FaultKind;
  detail: string;
}

export type FaultKind = 'pause' | 'client-kill' | 'script-flush' | 'redis-restart' | 'worker-kill';
export const FAULT_KINDS: readonly FaultKind[] = [
  'pause',
  'client-kill',
  'script-flush',
  'redis-restart',
  'worker-kill',
];

export type LedgerRecord = AdmitRecord | LeaseRecord | EndRecord | FaultRecord;

/** Appends the records of one process to its own file. */
export class LedgerWriter {
  private readonly file: string;
  private counter = 0;

  constructor(
    dir: string,
    /** Process label, unique in the run: "api-0", "worker-1.2" (second life of worker 1). */
    readonly label: string,
  ) {
    this.file = join(dir, `${label}.jsonl`);
  }

  /** A new admission id, unique in the run. */
  nextAdmission(): string {
    return `${this.label}#${++this.counter}`;
  }

  write(record: LedgerRecord): void {
    appendFileSync(this.file, JSON.stringify(record) + '\n');
  }
}

/**
 * Every record of every ledger file in `dir`. A last line cut short by a SIGKILL is skipped: the
 * write it belongs to never completed, so its event did not happen as far as anyone knows.
 */
export function readLedgers(dir: string): LedgerRecord[] {
  const records: LedgerRecord[] = [];
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as LedgerRecord);
      } catch {
        // A torn last line.
      }
    }
  }
  return records;
}
