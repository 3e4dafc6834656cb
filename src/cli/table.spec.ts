import type { GateSnapshot } from '../core/gate-results';
import { relativeTime, renderFindings, renderHolders, renderStatus, renderTable } from './table';

const NOW = 1_700_000_000_000;

function gate(model: string, fields: Partial<GateSnapshot> = {}): GateSnapshot {
  return {
    model,
    used: 0,
    holders: 0,
    waiting: 0,
    limit: null,
    soonestLeaseEnd: null,
    latestLeaseEnd: null,
    ended: 0,
    reclaimed: 0,
    ...fields,
  };
}

describe('renderTable', () => {
  it('aligns columns two spaces apart, without trailing spaces', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['wide cell', 'x'],
          ['b', ''],
        ],
      ),
    ).toBe(['A          LONGER', 'wide cell  x', 'b'].join('\n'));
  });
});

describe('relativeTime', () => {
  it.each([
    [null, '-'],
    [NOW, 'in 0s'],
    [NOW + 12_400, 'in 12s'],
    [NOW - 3_000, '3s ago'],
    [NOW + 125_000, 'in 2m05s'],
    [NOW + 3_660_000, 'in 1h01m'],
    [NOW + 90_000_000, 'in 1d01h'],
  ])('%p → %p', (at, text) => {
    expect(relativeTime(at, NOW)).toBe(text);
  });
});

describe('renderStatus', () => {
  it('shows one row per gate by model name: used/limit, holders, waiting, ended, reclaimed, soonest end', () => {
    const text = renderStatus(
      [
        gate('video', { used: 3, holders: 2, waiting: 1, limit: 4, soonestLeaseEnd: NOW + 5_000 }),
        gate('audio', { used: 1, holders: 1, ended: 2, reclaimed: 7 }),
      ],
      NOW,
    );
    expect(text.split('\n')).toEqual([
      'MODEL  USED/LIMIT  HOLDERS  WAITING  ENDED  RECLAIMED  SOONEST END',
      'audio  1/-         1        0        2      7          -',
      'video  3/4         2        1        0      0          in 5s',
    ]);
  });

  it('says so when there is no gate', () => {
    expect(renderStatus([], NOW)).toBe('No gates.');
  });
});

describe('renderHolders', () => {
  it('shows each holder with its token, cost, tenant and lease end', () => {
    const text = renderHolders(
      [
        { taskId: 't1', token: 17, cost: 1, tenant: null, expiresAt: NOW + 60_000 },
        { taskId: 'task-2', token: 18, cost: 3, tenant: 'acme', expiresAt: NOW + 61_000 },
      ],
      NOW,
    );
    expect(text.split('\n')).toEqual([
      'TASK    TOKEN  COST  TENANT  LEASE END',
      't1      17     1     -       in 1m00s',
      'task-2  18     3     acme    in 1m01s',
    ]);
    expect(renderHolders([], NOW)).toBe('No holders.');
  });
});

describe('renderFindings', () => {
  it('prints each finding with its severity and check', () => {
    expect(
      renderFindings([
        { severity: 'error', check: 'eviction', message: 'Evicts keys.' },
        { severity: 'warning', check: 'durability', message: 'No AOF.' },
      ]),
    ).toBe('ERROR [eviction] Evicts keys.\nWARNING [durability] No AOF.');
    expect(renderFindings([])).toMatch(/No findings/);
  });
});
