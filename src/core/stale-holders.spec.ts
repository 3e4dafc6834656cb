import { StaleHolders } from './stale-holders';

describe('StaleHolders', () => {
  it('removes nothing the first round a holder is unknown', () => {
    const stale = new StaleHolders();
    expect(stale.confirm('gpu', ['a', 'b'])).toEqual([]);
  });

  it('confirms a holder unknown two rounds in a row', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['a', 'b']);
    expect(stale.confirm('gpu', ['a', 'b']).sort()).toEqual(['a', 'b']);
  });

  it('spares a holder that became known in between (admitted after the database read)', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['late', 'leak']);
    // By the second round the late task is in the database; only the leak is still unknown.
    expect(stale.confirm('gpu', ['leak'])).toEqual(['leak']);
  });

  it('needs two consecutive rounds: a known round in between starts the count again', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['a']);
    stale.confirm('gpu', []);
    expect(stale.confirm('gpu', ['a'])).toEqual([]);
    expect(stale.confirm('gpu', ['a'])).toEqual(['a']);
  });

  it('starts over after confirming: a confirmed holder seen again is a new suspect', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['a']);
    expect(stale.confirm('gpu', ['a'])).toEqual(['a']);
    // Removed in that round; if the same id is back (a retry took it again), it gets two rounds.
    expect(stale.confirm('gpu', ['a'])).toEqual([]);
    expect(stale.confirm('gpu', ['a'])).toEqual(['a']);
  });

  it('keeps the rounds of each gate apart', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['a']);
    expect(stale.confirm('cpu', ['a'])).toEqual([]);
    expect(stale.confirm('gpu', ['a'])).toEqual(['a']);
    expect(stale.confirm('cpu', ['a'])).toEqual(['a']);
  });

  it('confirms only the holders unknown in both rounds', () => {
    const stale = new StaleHolders();
    stale.confirm('gpu', ['a', 'b']);
    expect(stale.confirm('gpu', ['b', 'c'])).toEqual(['b']);
    // c was unknown once; a was not unknown last round.
    expect(stale.confirm('gpu', ['a', 'c'])).toEqual(['c']);
  });
});
