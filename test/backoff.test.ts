import { describe, expect, it } from 'vitest';
import { AUTH, LATER, RETRY, backoff, classifyClose } from '../src/backoff';

const defaults = { initialDelay: 500, maxDelay: 30000, factor: 2, jitter: 1 };

describe('backoff', () => {
  it('stays within [(1 - jitter) * d, d] over many draws for every attempt', () => {
    for (const jitter of [1, 0.5, 0.2]) {
      for (let attempt = 0; attempt < 25; attempt++) {
        const d = Math.min(30000, 500 * 2 ** attempt);
        for (let i = 0; i < 2000; i++) {
          const delay = backoff(attempt, { ...defaults, jitter });
          expect(delay).toBeGreaterThanOrEqual((1 - jitter) * d);
          expect(delay).toBeLessThanOrEqual(d);
        }
      }
    }
  }, 60000); // many draws: a bound for a loaded machine, not a speed limit

  it('spreads full-jitter delays over the whole window rather than clustering', () => {
    const draws = Array.from({ length: 20000 }, () => backoff(10, defaults));
    const buckets = [0, 0, 0, 0];
    for (const d of draws) buckets[Math.min(3, Math.floor(d / 7500))]!++;
    for (const b of buckets) expect(b / draws.length).toBeGreaterThan(0.2);
  });

  it('gives the exact exponential schedule capped at maxDelay when jitter is 0', () => {
    const o = { ...defaults, jitter: 0 };
    expect([0, 1, 2, 3, 6, 7, 50].map((n) => backoff(n, o))).toEqual([500, 1000, 2000, 4000, 30000, 30000, 30000]);
  });

  it('uses the injected random source', () => {
    expect(backoff(2, defaults, () => 0)).toBe(2000);
    expect(backoff(2, defaults, () => 0.5)).toBe(1000);
  });
});

describe('close code classification', () => {
  it('retries 1000, 1001, 1006, 1011, 1012 and unknown codes', () => {
    for (const code of [1000, 1001, 1006, 1011, 1012, 1002, 4000]) expect(classifyClose(code)).toBe(RETRY);
  });
  it('treats 1008, 4401 and 4403 as credential failures', () => {
    for (const code of [1008, 4401, 4403]) expect(classifyClose(code)).toBe(AUTH);
  });
  it('treats 1013 as try-again-later', () => {
    expect(classifyClose(1013)).toBe(LATER);
  });
});
