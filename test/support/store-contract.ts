import type { GateStore } from '../../src/core/gate-store';

/** One store to run the contract against, fresh for each test. */
export interface StoreUnderTest {
  store: GateStore;
  /**
   * Lets at least `ms` of store time pass: real waiting for a store on a real clock, a clock
   * step for a store on a test clock.
   */
  pass(ms: number): Promise<void>;
  /** Removes what the test wrote. */
  dispose(): Promise<void>;
}

/** A lease that ends during a test (always waited out with {@link EXPIRED}). */
const SHORT = 30;
/** Wait after which a {@link SHORT} lease has surely ended. */
const EXPIRED = 80;
/** A lease no test outlives, however slow the machine. */
const LONG = 60_000;

/**
 * The semantics every {@link GateStore} must keep, whatever keeps the state. Leases that must
 * end are short and waited out; leases that must stay live are long, so a slow run can only
 * make an expired lease "more expired", never end a live one early.
 */
export function describeGateStoreContract(
  name: string,
  create: () => StoreUnderTest | Promise<StoreUnderTest>,
): void {
  describe(`GateStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: GateStore;

    beforeEach(async () => {
      subject = await create();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.dispose();
    });

    let attempts = 0;
    const acquire = (holder: string, limit: number | null, leaseMs = LONG, gate = 'm') =>
      store.acquire({ gate, holder, limit, leaseMs, attempt: `attempt-${++attempts}` });
    const retry = (holder: string, limit: number | null, attempt = `retry-${++attempts}`) =>
      store.acquire({ gate: 'm', holder, limit, leaseMs: LONG, attempt, renew: true });
    const names = async () => (await store.holders('m')).holders.map((h) => h.holder).sort();

    describe('acquire', () => {
      it('admits up to the limit, then refuses and reports the used count', async () => {
        for (const [i, holder] of ['a', 'b', 'c'].entries()) {
          const reply = await acquire(holder, 3);
          expect(reply).toMatchObject({ admitted: true, alreadyHeld: false, used: i + 1 });
          expect(reply.expiresAt).toBe(reply.now + LONG);
        }
        const refused = await acquire('d', 3);
        expect(refused).toMatchObject({
          admitted: false,
          alreadyHeld: false,
          used: 3,
          reclaimed: 0,
          expiresAt: null,
        });
        expect((await store.usage('m')).used).toBe(3);

        await store.release({ gate: 'm', holder: 'a' });
        expect(await acquire('d', 3)).toMatchObject({ admitted: true, used: 3 });
      });

      it('keeps gates apart', async () => {
        await acquire('a', 1, LONG, 'one');
        expect(await acquire('b', 1, LONG, 'two')).toMatchObject({ admitted: true, used: 1 });
        expect(await acquire('c', 1, LONG, 'one')).toMatchObject({ admitted: false, used: 1 });
      });

      it('treats limit null and 0 as unlimited but still records the holders', async () => {
        for (let i = 0; i < 5; i++) {
          expect(await acquire(`null-${i}`, null)).toMatchObject({ admitted: true, used: i + 1 });
        }
        expect(await acquire('zero', 0)).toMatchObject({ admitted: true, used: 6 });
        expect((await store.usage('m')).used).toBe(6);

        // A limit set later sees every holder admitted while the gate was unlimited.
        expect(await acquire('late', 6)).toMatchObject({ admitted: false, used: 6 });
        expect(await acquire('late', 7)).toMatchObject({ admitted: true, used: 7 });
      });

      it('answers a holder that acquires again "already held", with one slot', async () => {
        await acquire('a', 5);
        const again = await acquire('a', 5);
        expect(again).toMatchObject({ admitted: true, alreadyHeld: true, used: 1 });
        expect((await store.usage('m')).used).toBe(1);
        expect((await store.holders('m')).holders.map((h) => h.holder)).toEqual(['a']);
      });

      it('answers "already held", not "full", on a full gate', async () => {
        await acquire('a', 2);
        await acquire('b', 2);
        expect(await acquire('a', 2)).toMatchObject({ admitted: true, alreadyHeld: true, used: 2 });
        // Even when the limit dropped below the count, a holder keeps its slot.
        expect(await acquire('b', 1)).toMatchObject({ admitted: true, alreadyHeld: true, used: 2 });
        expect(await acquire('c', 2)).toMatchObject({ admitted: false, used: 2 });
      });

      it('refreshes the lease of a holder that acquires again, never shortening it', async () => {
        const first = await acquire('a', 1, LONG);
        const shorter = await acquire('a', 1, 1_000);
        expect(shorter.alreadyHeld).toBe(true);
        expect(shorter.expiresAt).toBe(first.expiresAt);

        const longer = await acquire('a', 1, 2 * LONG);
        expect(longer.alreadyHeld).toBe(true);
        expect(longer.expiresAt).toBe(longer.now + 2 * LONG);
        expect(longer.expiresAt).toBeGreaterThan(first.expiresAt!);
        expect((await store.holders('m')).holders).toEqual([
          { holder: 'a', expiresAt: longer.expiresAt, token: first.token, cost: 1, tenant: null },
        ]);
      });

      it('reclaims expired holders and reports how many', async () => {
        await acquire('a', 2, SHORT);
        await acquire('b', 2, SHORT);
        await acquire('c', 3, LONG);
        await subject.pass(EXPIRED);

        const reply = await acquire('d', 2);
        expect(reply).toMatchObject({ admitted: true, alreadyHeld: false, used: 2, reclaimed: 2 });
        expect((await acquire('e', 2)).reclaimed).toBe(0);
      });

      it('takes a fresh slot for a holder whose own lease ended', async () => {
        await acquire('a', 1, SHORT);
        await subject.pass(EXPIRED);
        const reply = await acquire('a', 1);
        expect(reply).toMatchObject({ admitted: true, alreadyHeld: false, used: 1, reclaimed: 1 });
        expect(reply.expiresAt).toBe(reply.now + LONG);
      });
    });

    describe('release', () => {
      it('is true once, then false (idempotent)', async () => {
        await acquire('a', 2);
        await acquire('b', 2);
        expect(await store.release({ gate: 'm', holder: 'a' })).toMatchObject({
          released: true,
          stale: false,
        });
        expect(await store.release({ gate: 'm', holder: 'a' })).toMatchObject({
          released: false,
          stale: false,
        });
        expect((await store.usage('m')).used).toBe(1);
      });

      it('is false for an unknown holder or gate, and changes nothing', async () => {
        await acquire('a', 2);
        expect(await store.release({ gate: 'm', holder: 'nobody' })).toMatchObject({
          released: false,
          stale: false,
        });
        expect(await store.release({ gate: 'empty', holder: 'a' })).toMatchObject({
          released: false,
          stale: false,
        });
        expect((await store.usage('m')).used).toBe(1);
      });
    });

    describe('extend', () => {
      it('renews a live lease from now, never shortening it', async () => {
        const first = await acquire('a', 1, LONG);
        const renewed = await store.extend({ gate: 'm', holder: 'a', leaseMs: 2 * LONG });
        expect(renewed.extended).toBe(true);
        expect(renewed.expiresAt).toBe(renewed.now + 2 * LONG);
        expect(renewed.expiresAt).toBeGreaterThan(first.expiresAt!);

        const shorter = await store.extend({ gate: 'm', holder: 'a', leaseMs: 1_000 });
        expect(shorter).toMatchObject({ extended: true, expiresAt: renewed.expiresAt });
        expect((await store.holders('m')).holders).toEqual([
          { holder: 'a', expiresAt: renewed.expiresAt, token: first.token, cost: 1, tenant: null },
        ]);
      });

      it('reports an expired lease lost and does not bring it back', async () => {
        await acquire('a', 1, SHORT);
        await subject.pass(EXPIRED);

        const reply = await store.extend({ gate: 'm', holder: 'a', leaseMs: LONG });
        expect(reply).toMatchObject({ extended: false, expiresAt: null });
        expect((await store.usage('m')).used).toBe(0);
        expect((await store.holders('m')).holders).toEqual([]);

        // Its slot is free for others, and a second extend still finds it lost.
        expect(await acquire('b', 1)).toMatchObject({ admitted: true, used: 1 });
        expect((await store.extend({ gate: 'm', holder: 'a', leaseMs: LONG })).extended).toBe(
          false,
        );
        expect(await acquire('a', 1)).toMatchObject({ admitted: false, used: 1 });
      });

      it('reports an unknown or released holder lost without adding it', async () => {
        await acquire('a', 1);
        await store.release({ gate: 'm', holder: 'a' });
        expect((await store.extend({ gate: 'm', holder: 'a', leaseMs: LONG })).extended).toBe(
          false,
        );
        expect((await store.extend({ gate: 'm', holder: 'x', leaseMs: LONG })).extended).toBe(
          false,
        );
        expect((await store.usage('m')).used).toBe(0);
      });
    });

    describe('fencing tokens', () => {
      it('gives every admission a token that strictly increases per gate', async () => {
        const tokens: number[] = [];
        for (const holder of ['a', 'b', 'c']) tokens.push((await acquire(holder, 5)).token!);
        await store.release({ gate: 'm', holder: 'a' });
        tokens.push((await acquire('a', 5)).token!);
        tokens.push((await retry('b', 5)).token!);
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
        expect(Number.isSafeInteger(tokens[0])).toBe(true);
        expect((await acquire('full', 1)).token).toBeNull();
      });

      it('answers a duplicate acquire with the same token, and a retry with a new one', async () => {
        const first = await acquire('a', 1);
        const duplicate = await acquire('a', 1);
        expect(duplicate).toMatchObject({ admitted: true, alreadyHeld: true, token: first.token });

        const retried = await retry('a', 1);
        expect(retried).toMatchObject({ admitted: true, alreadyHeld: true, used: 1 });
        expect(retried.token).toBeGreaterThan(first.token!);
        expect(await acquire('b', 1)).toMatchObject({ admitted: false, used: 1 });
      });

      it('admits a retry of a task that holds nothing like a new task', async () => {
        await acquire('other', 2);
        const retried = await retry('a', 2);
        expect(retried).toMatchObject({ admitted: true, alreadyHeld: false, used: 2 });
        expect(await retry('b', 2)).toMatchObject({ admitted: false, used: 2, token: null });
      });

      it('makes a release fenced to an older token change nothing and say so', async () => {
        const first = await acquire('a', 1);
        const retried = await retry('a', 1);

        const stale = await store.release({
          gate: 'm',
          holder: 'a',
          fence: { token: first.token! },
        });
        expect(stale).toEqual({ released: false, stale: true, currentToken: retried.token });
        expect(await names()).toEqual(['a']);

        const current = await store.release({
          gate: 'm',
          holder: 'a',
          fence: { token: retried.token! },
        });
        expect(current).toMatchObject({ released: true, stale: false });
        expect(await names()).toEqual([]);
      });

      it('answers a fenced release of a holder that holds nothing as not released', async () => {
        const first = await acquire('a', 1);
        await store.release({ gate: 'm', holder: 'a' });
        const reply = await store.release({
          gate: 'm',
          holder: 'a',
          fence: { token: first.token! },
        });
        expect(reply).toMatchObject({ released: false, stale: false });
      });

      it('undoes exactly the admission of one acquire attempt', async () => {
        await store.acquire({ gate: 'm', holder: 'a', limit: 1, leaseMs: LONG, attempt: 'lost' });
        expect(
          await store.release({ gate: 'm', holder: 'a', fence: { attempt: 'lost' } }),
        ).toMatchObject({ released: true, stale: false });

        // A later admission by another attempt is not undone by the lost one's release.
        await store.acquire({ gate: 'm', holder: 'a', limit: 1, leaseMs: LONG, attempt: 'kept' });
        const reply = await store.release({ gate: 'm', holder: 'a', fence: { attempt: 'lost' } });
        expect(reply).toMatchObject({ released: false, stale: true });
        expect(await names()).toEqual(['a']);
      });

      it('keeps the attempt of the admission when a duplicate acquire answers held', async () => {
        await store.acquire({ gate: 'm', holder: 'a', limit: 1, leaseMs: LONG, attempt: 'first' });
        await store.acquire({ gate: 'm', holder: 'a', limit: 1, leaseMs: LONG, attempt: 'dup' });
        // The duplicate admitted nothing, so undoing it must not free the task's slot.
        expect(
          await store.release({ gate: 'm', holder: 'a', fence: { attempt: 'dup' } }),
        ).toMatchObject({ released: false, stale: true });
        expect(await names()).toEqual(['a']);
      });

      it('renews only the admission an extend names', async () => {
        const first = await acquire('a', 1, LONG);
        const retried = await retry('a', 1);
        const stale = await store.extend({
          gate: 'm',
          holder: 'a',
          leaseMs: 3 * LONG,
          token: first.token!,
        });
        expect(stale).toMatchObject({ extended: false, stale: true, currentToken: retried.token });
        expect((await store.holders('m')).holders[0].expiresAt).toBe(retried.expiresAt);

        const renewed = await store.extend({
          gate: 'm',
          holder: 'a',
          leaseMs: 3 * LONG,
          token: retried.token!,
        });
        expect(renewed).toMatchObject({
          extended: true,
          stale: false,
          currentToken: retried.token,
        });
      });

      it('lets reconcile remove a named holder only while it holds the named token', async () => {
        const first = await acquire('a', null);
        await retry('a', null);
        const old = await store.reconcile({
          gate: 'm',
          holders: [],
          leaseMs: LONG,
          removable: [{ holder: 'a', token: first.token! }],
        });
        expect(old).toEqual({ added: 0, removed: 0, used: 1 });
        const any = await store.reconcile({
          gate: 'm',
          holders: [],
          leaseMs: LONG,
          removable: [{ holder: 'a' }],
        });
        expect(any).toEqual({ added: 0, removed: 1, used: 0 });
      });

      it('never lets reconcile remove holders under the spared prefix', async () => {
        await acquire('request:stream', null);
        await acquire('task', null);
        const reply = await store.reconcile({
          gate: 'm',
          holders: [],
          leaseMs: LONG,
          sparedPrefix: 'request:',
        });
        expect(reply).toEqual({ added: 0, removed: 1, used: 1 });
        expect(await names()).toEqual(['request:stream']);
      });

      it('gives holders added by reconcile tokens newer than every earlier one', async () => {
        const before = await acquire('a', null);
        await store.reconcile({ gate: 'm', holders: ['a', 'b'], leaseMs: LONG });
        const { holders } = await store.holders('m');
        const added = holders.find((h) => h.holder === 'b')!;
        expect(added.token).toBeGreaterThan(before.token!);
        expect(holders.find((h) => h.holder === 'a')!.token).toBe(before.token);
      });
    });

    describe('usage and holders', () => {
      it('ignore expired holders that no acquire reclaimed yet', async () => {
        await acquire('short', null, SHORT);
        const live = await acquire('live', null, LONG);
        expect((await store.usage('m')).used).toBe(2);
        await subject.pass(EXPIRED);

        expect((await store.usage('m')).used).toBe(1);
        expect((await store.holders('m')).holders).toEqual([
          { holder: 'live', expiresAt: live.expiresAt, token: live.token, cost: 1, tenant: null },
        ]);
      });

      it('are empty for a gate never used', async () => {
        expect((await store.usage('never')).used).toBe(0);
        expect((await store.holders('never')).holders).toEqual([]);
      });

      it('list holders soonest lease end first', async () => {
        // Names in reverse order of their leases, so a sort by name would fail.
        const c = await acquire('a-third', null, 3 * LONG);
        const a = await acquire('b-first', null, LONG);
        const b = await acquire('c-second', null, 2 * LONG);
        const { holders, now } = await store.holders('m');
        expect(holders).toEqual([
          { holder: 'b-first', expiresAt: a.expiresAt, token: a.token, cost: 1, tenant: null },
          { holder: 'c-second', expiresAt: b.expiresAt, token: b.token, cost: 1, tenant: null },
          { holder: 'a-third', expiresAt: c.expiresAt, token: c.token, cost: 1, tenant: null },
        ]);
        expect(now).toBeGreaterThanOrEqual(c.now);
      });
    });

    describe('reconcile', () => {
      it('adds missing holders, removes unknown ones and returns the counts', async () => {
        await acquire('keep', 5);
        await acquire('drop-1', 5);
        await acquire('drop-2', 5);

        const reply = await store.reconcile({
          gate: 'm',
          holders: ['keep', 'new-1', 'new-2', 'new-3'],
          leaseMs: LONG,
        });
        expect(reply).toEqual({ added: 3, removed: 2, used: 4 });
        const names = (await store.holders('m')).holders.map((h) => h.holder).sort();
        expect(names).toEqual(['keep', 'new-1', 'new-2', 'new-3']);
      });

      it('keeps the leases of holders it already had and gives new ones a fresh lease', async () => {
        const kept = await acquire('kept', null, 3 * LONG);
        await store.reconcile({ gate: 'm', holders: ['kept', 'added'], leaseMs: LONG });
        const { holders, now } = await store.holders('m');
        const added = holders.find((h) => h.holder === 'added')!;
        expect(holders.find((h) => h.holder === 'kept')).toEqual({
          holder: 'kept',
          expiresAt: kept.expiresAt,
          token: kept.token,
          cost: 1,
          tenant: null,
        });
        // Measured from the reconcile's "now", which lies between the acquire and the listing.
        expect(added.expiresAt).toBeGreaterThanOrEqual(kept.now + LONG);
        expect(added.expiresAt).toBeLessThanOrEqual(now + LONG);
      });

      it('adds back an active holder whose lease ended', async () => {
        await acquire('a', null, SHORT);
        await subject.pass(EXPIRED);
        expect(await store.reconcile({ gate: 'm', holders: ['a'], leaseMs: LONG })).toEqual({
          added: 1,
          removed: 0,
          used: 1,
        });
        expect((await store.usage('m')).used).toBe(1);
      });

      it('leaves leases it gave to be reclaimed, and counted, by a later acquire', async () => {
        await store.reconcile({ gate: 'm', holders: ['a', 'b'], leaseMs: SHORT });
        await subject.pass(EXPIRED);
        expect(await acquire('c', 1)).toMatchObject({ admitted: true, used: 1, reclaimed: 2 });
      });

      it('counts a holder listed twice once', async () => {
        const reply = await store.reconcile({
          gate: 'm',
          holders: ['x', 'y', 'x', 'x'],
          leaseMs: LONG,
        });
        expect(reply).toEqual({ added: 2, removed: 0, used: 2 });
        expect((await store.usage('m')).used).toBe(2);
      });

      it('empties the gate for an empty list', async () => {
        await acquire('a', null);
        await acquire('b', null);
        expect(await store.reconcile({ gate: 'm', holders: [], leaseMs: LONG })).toEqual({
          added: 0,
          removed: 2,
          used: 0,
        });
        expect((await store.usage('m')).used).toBe(0);
        expect(await store.reconcile({ gate: 'm', holders: [], leaseMs: LONG })).toEqual({
          added: 0,
          removed: 0,
          used: 0,
        });
      });

      it('removes only the listed holders when given a removable list', async () => {
        for (const holder of ['active', 'stale', 'admitted-since']) await acquire(holder, null);
        const reply = await store.reconcile({
          gate: 'm',
          holders: ['active', 'added'],
          leaseMs: LONG,
          removable: [{ holder: 'stale' }, { holder: 'active' }],
        });
        expect(reply).toEqual({ added: 1, removed: 1, used: 3 });
        const names = (await store.holders('m')).holders.map((h) => h.holder).sort();
        expect(names).toEqual(['active', 'added', 'admitted-since']);
      });

      it('may exceed the limit, and then admits nobody until enough holders leave', async () => {
        await acquire('a', 2);
        expect(
          await store.reconcile({ gate: 'm', holders: ['a', 'b', 'c'], leaseMs: LONG }),
        ).toEqual({ added: 2, removed: 0, used: 3 });

        expect(await acquire('d', 2)).toMatchObject({ admitted: false, used: 3 });
        await store.release({ gate: 'm', holder: 'b' });
        expect(await acquire('d', 2)).toMatchObject({ admitted: false, used: 2 });
        await store.release({ gate: 'm', holder: 'c' });
        expect(await acquire('d', 2)).toMatchObject({ admitted: true, used: 2 });
      });
    });
  });
}
