import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../reconciler/backoff.js';

describe('backoffMs', () => {
  it('doubles from the initial delay up to the cap, without calling random when there is no jitter', () => {
    const random = (): number => {
      throw new Error('random must not be called');
    };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, { initialMs: 100, maxMs: 1000, random }))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('limits the exponent so a long failure streak stays finite', () => {
    expect(backoffMs(5000, { initialMs: 1, maxMs: Infinity, maxExponent: 20 })).toBe(2 ** 20);
  });

  it('spreads by ±jitter around the delay, capped at the maximum, with the given factor', () => {
    const o = { initialMs: 1000, factor: 3, maxMs: 10_000, jitter: 0.2 };
    expect(backoffMs(2, { ...o, random: () => 0 })).toBeCloseTo(2400);
    expect(backoffMs(2, { ...o, random: () => 0.5 })).toBe(3000);
    expect(backoffMs(2, { ...o, random: () => 1 })).toBeCloseTo(3600);
    expect(backoffMs(4, { ...o, random: () => 1 })).toBe(10_000);
  });
});
