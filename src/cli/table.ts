import type { DoctorFinding } from '../core/doctor';
import type { GateHolderInfo, GateSnapshot } from '../core/gate-results';

/** Renders rows under a header as aligned columns, two spaces apart, no trailing spaces. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A store-clock time (ms since the epoch) relative to `now`: `in 12s`, `3s ago`, or `-`. */
export function relativeTime(at: number | null, now: number): string {
  if (at === null) return '-';
  const seconds = Math.round((at - now) / 1000);
  const span = formatSpan(Math.abs(seconds));
  return seconds >= 0 ? `in ${span}` : `${span} ago`;
}

function formatSpan(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  if (seconds < 86_400)
    return `${Math.floor(seconds / 3600)}h${pad(Math.floor(seconds / 60) % 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${pad(Math.floor(seconds / 3600) % 24)}h`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** The `status` table: one row per gate, by model name. */
export function renderStatus(gates: readonly GateSnapshot[], now: number): string {
  if (gates.length === 0) return 'No gates.';
  const rows = [...gates]
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
    .map((gate) => [
      gate.model,
      `${gate.used}/${gate.limit === null ? '-' : gate.limit}`,
      String(gate.holders),
      String(gate.waiting),
      String(gate.ended),
      String(gate.reclaimed),
      relativeTime(gate.soonestLeaseEnd, now),
    ]);
  return renderTable(
    ['MODEL', 'USED/LIMIT', 'HOLDERS', 'WAITING', 'ENDED', 'RECLAIMED', 'SOONEST END'],
    rows,
  );
}

/** The `holders` table: one row per live holder. */
export function renderHolders(holders: readonly GateHolderInfo[], now: number): string {
  if (holders.length === 0) return 'No holders.';
  const rows = holders.map((holder) => [
    holder.taskId,
    String(holder.token),
    String(holder.cost),
    holder.tenant ?? '-',
    relativeTime(holder.expiresAt, now),
  ]);
  return renderTable(['TASK', 'TOKEN', 'COST', 'TENANT', 'LEASE END'], rows);
}

/** The doctor's findings, one a line. */
export function renderFindings(findings: readonly DoctorFinding[]): string {
  if (findings.length === 0) return 'No findings: the server fits the gate.';
  return findings
    .map((finding) => `${finding.severity.toUpperCase()} [${finding.check}] ${finding.message}`)
    .join('\n');
}
