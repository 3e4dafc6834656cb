import { DEFAULT_LEASE_POLICY, leaseMilliseconds, type LeasePolicy } from './lease-policy';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

describe('DEFAULT_LEASE_POLICY', () => {
  it('is ten times the expected duration, from 1 h to 24 h, by default', () => {
    expect(DEFAULT_LEASE_POLICY).toEqual({ multiplier: 10, minSeconds: 3600, maxSeconds: 86400 });
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(DEFAULT_LEASE_POLICY)).toBe(true);
  });
});

describe('leaseMilliseconds with the default policy', () => {
  const lease = (expectedSeconds: number | undefined) =>
    leaseMilliseconds(expectedSeconds, DEFAULT_LEASE_POLICY);

  it.each<[number | undefined, number]>([
    [undefined, HOUR_MS],
    [0, HOUR_MS],
    [-5, HOUR_MS],
    [1, HOUR_MS],
    [359, HOUR_MS],
    [360, HOUR_MS],
    [361, 3_610_000],
    [600, 6_000_000],
    [1234.5, 12_345_000],
    [8640, DAY_MS],
    [8641, DAY_MS],
    [1e9, DAY_MS],
  ])('gives a task expected to take %p s a lease of %p ms', (expectedSeconds, expected) => {
    expect(lease(expectedSeconds)).toBe(expected);
  });
});

describe('leaseMilliseconds with a custom policy', () => {
  it('applies its multiplier and bounds', () => {
    const policy: LeasePolicy = { multiplier: 3, minSeconds: 60, maxSeconds: 600 };
    expect(leaseMilliseconds(undefined, policy)).toBe(60_000);
    expect(leaseMilliseconds(10, policy)).toBe(60_000);
    expect(leaseMilliseconds(50, policy)).toBe(150_000);
    expect(leaseMilliseconds(1000, policy)).toBe(600_000);
  });

  it('keeps sub-second leases, in whole milliseconds rounded up', () => {
    const policy: LeasePolicy = { multiplier: 1, minSeconds: 0.05, maxSeconds: 10 };
    expect(leaseMilliseconds(undefined, policy)).toBe(50);
    expect(leaseMilliseconds(0.2, policy)).toBe(200);
    expect(leaseMilliseconds(0.1234, policy)).toBe(124);
  });

  it('never answers less than 1 ms, even for a zero policy', () => {
    const policy: LeasePolicy = { multiplier: 1, minSeconds: 0, maxSeconds: 0 };
    expect(leaseMilliseconds(undefined, policy)).toBe(1);
    expect(leaseMilliseconds(5, policy)).toBe(1);
  });

  it('lets the maximum win when a policy has min above max', () => {
    // The module refuses such options; the function itself must still answer within maxSeconds.
    const policy: LeasePolicy = { multiplier: 10, minSeconds: 100, maxSeconds: 50 };
    expect(leaseMilliseconds(1, policy)).toBe(50_000);
  });
});
