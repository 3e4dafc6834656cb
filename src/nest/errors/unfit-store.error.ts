import type { DoctorFinding } from '../../core/doctor';
import { QueueGateError } from '../../core/errors/queue-gate.error';

/**
 * Thrown at boot when the doctor found the store unfit for a strict gate (a script cannot read
 * the server's clock, the Redis user may not touch the key prefix). `findings` holds them all.
 * Set the module option `doctor: false` to boot anyway, at your own risk.
 */
export class UnfitGateStoreError extends QueueGateError {
  constructor(
    /** Every finding of the doctor, errors first. */
    readonly findings: readonly DoctorFinding[],
  ) {
    const errors = findings.filter((finding) => finding.severity === 'error');
    super(
      `The queue gate's store is unfit for a strict gate: ${errors
        .map((finding) => `[${finding.check}] ${finding.message}`)
        .join(' ')}`,
    );
  }
}
