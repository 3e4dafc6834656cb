/** How much a doctor's finding matters: an error stops the boot, a warning is logged loudly. */
export type DoctorSeverity = 'error' | 'warning' | 'info';

/** One thing the doctor found about the store the gate runs on. */
export interface DoctorFinding {
  /** `error`: the gate cannot be trusted on this server; `warning`: it can, with a risk named. */
  severity: DoctorSeverity;
  /** Which check: `server`, `reachable`, `script-time`, `access`, `eviction`, `durability`. */
  check: string;
  /** What was found, and what to do about it. */
  message: string;
}
