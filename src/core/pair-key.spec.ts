import { pairKey } from './pair-key';

describe('pairKey', () => {
  it('keeps pairs apart whatever characters their parts hold', () => {
    const pairs: [string, string][] = [
      ['a\0b', 'c'],
      ['a', 'b\0c'],
      ['a:b', 'c'],
      ['a', ':bc'],
      ['1', '2:34'],
      ['12', ':34'],
      ['g', 'h#5'],
      ['g', 'h'],
    ];
    const keys = pairs.map(([gate, holder]) => pairKey(gate, holder));
    expect(new Set(keys).size).toBe(pairs.length);
  });

  it('keeps a suffix appended to one pair apart from another pair', () => {
    // The retry queue appends a fence (`#token`, `@attempt`) to a pair key.
    expect(pairKey('g', 'h') + '#5').not.toBe(pairKey('g', 'h#5'));
    expect(pairKey('g', 'h') + '@ab').not.toBe(pairKey('g', 'h@ab'));
  });

  it('gives one pair one key', () => {
    expect(pairKey('model', 'task')).toBe(pairKey('model', 'task'));
  });
});
