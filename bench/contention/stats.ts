/** Small statistics helpers for the suite's figures. */
import type { Spread } from './types.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function spreadOf(xs: readonly number[]): Spread {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, spread: NaN, n: 0 };
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return { median: med, min, max, spread: med !== 0 ? (max - min) / Math.abs(med) : 0, n: finite.length };
}

/** Median of the non-null values, null when there are none. */
export function medianOrNull(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}
