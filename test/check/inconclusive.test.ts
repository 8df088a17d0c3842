/**
 * The inconclusive verdict (src/check/floor.ts, verdictOf): on near-flat images float32 rounding of
 * the exact answer is as large as the answer itself, so "within 32 x the floor" holds for 0, the
 * negative and twice the answer alike; none of them may be a MATCH. The reviewer's reproduction
 * (24 x 24, values 0.5 +- 5e-6) for check --jvp and --hvp, 1e-6-amplitude images for the gradient
 * checker, and a realistic pair whose verdicts stay as they were. The exact answers the candidates
 * are built from are central differences of SSIM's value (or of its gradient, for the HVP), not the
 * JVP and HVP code under test.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { checkHvp, checkJvp } from '../../src/check/forward-check.js';
import { INCONCLUSIVE_RELATIVE, verdictOf } from '../../src/check/floor.js';
import { evaluateSsim } from '../../src/runtime/index.js';
import type { Tensor } from '../../src/field/index.js';

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const N = 24;
const image = (f: (i: number) => number): Tensor => ({ shape: [N, N], data: Float64Array.from({ length: N * N }, (_, i) => f(i)) });
const options = { preset: 'pytorch-ssim' as const };
const along = (t: Tensor, d: Tensor, h: number): Tensor => ({ shape: t.shape, data: t.data.map((v, i) => v + h * d.data[i]!) });

// the reviewer's near-flat pair, flatter (this generator's draws have a smaller floor than numpy's at 1e-5):
// x = 0.5 + 3e-6 (u - 0.5), y = x + 3e-6 (u' - 0.5); a direction of unit scale
const r = rng(1);
const fx = image(() => 0.5 + 3e-6 * (r() - 0.5));
const fy = image((i) => fx.data[i]! + 3e-6 * (r() - 0.5));
const fd = image(() => r() - 0.5);

/** d ssim in the direction (d, 0), by central differences of the value (Richardson: steps h and h / 2). */
function jvpByDifferences(x: Tensor, y: Tensor, d: Tensor, h: number): number {
  const D = (s: number): number => (evaluateSsim(along(x, d, s), y, options).ssim - evaluateSsim(along(x, d, -s), y, options).ssim) / (2 * s);
  return (4 * D(h / 2) - D(h)) / 3;
}
/** H v over x, by central differences of the gradient. */
function hvpByDifferences(x: Tensor, y: Tensor, v: Tensor, h: number): Float64Array {
  const p = evaluateSsim(along(x, v, h), y, options).gradX;
  const m = evaluateSsim(along(x, v, -h), y, options).gradX;
  return p.map((a, i) => (a - m[i]!) / (2 * h));
}

describe('near-flat images: a float32 floor as large as the answer gives no MATCH', () => {
  const exact = jvpByDifferences(fx, fy, fd, 1e-6);

  it('check --jvp: 0, -1 and 2 x the exact JVP are not a match; the exact JVP itself is inconclusive', () => {
    const at = (k: number) => checkJvp({ x: fx, y: fy, options, dx: fd, dy: null, candidate: k * exact }).report;
    const one = at(1);
    // the oracle agrees with the checker's exact JVP, and the allowance is over the threshold here
    expect(Math.abs(one.jvp!.exact - exact)).toBeLessThan(1e-2 * Math.abs(exact));
    expect(one.allowance.l2 / Math.abs(exact)).toBeGreaterThan(INCONCLUSIVE_RELATIVE);
    expect(one.verdict).toBe('inconclusive');
    expect(one.diagnosis[0]!.message).toMatch(/float32 rounding of the exact JVP is as large as \d+ % of it on these inputs/);
    for (const k of [0, -1, 2, -0.1, 0.5]) {
      const v = at(k).verdict;
      expect(v, `k = ${k}`).not.toBe('match');
      // each of them is within the allowance: inconclusive, not a mismatch
      expect(v, `k = ${k}`).toBe('inconclusive');
    }
    // far outside the allowance it is still a mismatch
    expect(at(100).verdict).toBe('mismatch');
  });

  it('a known mistake within the allowance is named as one the check cannot tell the candidate from', () => {
    const d = checkJvp({ x: fx, y: fy, options, dx: fd, dy: null, candidate: exact }).report.diagnosis;
    // the sign-flipped JVP (-exact) is within the allowance of exact here (|2 exact| < allowance)
    expect(d.some((e) => /cannot tell the candidate from/.test(e.message) && /sign flipped/.test(e.message))).toBe(true);
  });

  // the HVP stays judgeable on these images (its allowance is about 1e-3 of ||H v||: its second partials carry C1, C2,
  // not the images' small differences): a guard that its verdicts stay honest, the rule itself is verdictOf's below
  it('check --hvp: 0 and -1 x the exact HVP are not a match', () => {
    const h = hvpByDifferences(fx, fy, fd, 1e-7);
    const at = (k: number) => checkHvp({ x: fx, y: fy, options, wrt: 'x', v: fd, candidate: h.map((a) => k * a) });
    const one = at(1);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < h.length; i++) {
      diff += (one.exact[i]! - h[i]!) ** 2;
      norm += h[i]! ** 2;
    }
    expect(Math.sqrt(diff)).toBeLessThan(1e-2 * Math.sqrt(norm));
    for (const k of [0, -1, 2]) expect(at(k).report.verdict, `k = ${k}`).not.toBe('match');
  });

  it('the gradient checker: -1 x g on 1e-6-amplitude images is not a match', () => {
    const q = rng(1);
    const x = image(() => 0.5 + 1e-6 * (q() - 0.5));
    const y = image((i) => x.data[i]! + 1e-6 * (q() - 0.5));
    const g = evaluateSsim(x, y, options).gradX;
    // g is SSIM's gradient: <g, d> agrees with central differences along a direction d
    const d = image(() => q() - 0.5);
    const gd = g.reduce((s, a, i) => s + a * d.data[i]!, 0);
    expect(Math.abs(jvpByDifferences(x, y, d, 1e-7) - gd)).toBeLessThan(5e-2 * Math.abs(gd));
    const one = checkGradient({ x, y, options, wrt: 'x', candidate: g, subsample: false }).report;
    expect(one.verdict).toBe('inconclusive');
    expect(one.diagnosis[0]!.message).toMatch(/float32 rounding of the exact gradient is as large as \d+ % of it/);
    for (const k of [-1, 0, 2]) {
      const rep = checkGradient({ x, y, options, wrt: 'x', candidate: g.map((a) => k * a), subsample: false }).report;
      expect(rep.verdict, `k = ${k}`).not.toBe('match');
    }
  });
});

describe('verdictOf (the rule all three checkers share)', () => {
  const allow = (l2: number) => ({ maxAbs: l2, l2 });
  it('within an allowance over 0.1 of the answer: inconclusive; at or under 0.1: match; outside: mismatch', () => {
    expect(verdictOf({ maxAbs: 0.1, l2: 0.1 }, allow(0.2), 1)).toBe('inconclusive');
    expect(verdictOf({ maxAbs: 0.01, l2: 0.01 }, allow(0.1), 1)).toBe('match');
    expect(verdictOf({ maxAbs: 0.05, l2: 0.05 }, allow(0.11), 1)).toBe('inconclusive');
    expect(verdictOf({ maxAbs: 0.3, l2: 0.3 }, allow(0.2), 1)).toBe('mismatch');
    expect(verdictOf({ maxAbs: NaN, l2: NaN }, allow(0.2), 1)).toBe('mismatch');
  });
  it('an answer that is float64 rounding of zero (under the allowance x 2^-29) is judged: a match within the allowance', () => {
    expect(verdictOf({ maxAbs: 1e-9, l2: 1e-9 }, allow(1e-8), 1e-17)).toBe('match');
    expect(verdictOf({ maxAbs: 1e-9, l2: 1e-9 }, allow(1e-8), 0)).toBe('match');
    // above float64 rounding: a real answer smaller than the allowance, inconclusive
    expect(verdictOf({ maxAbs: 1e-9, l2: 1e-9 }, allow(1e-8), 1e-12)).toBe('inconclusive');
  });
});

describe('a realistic pair: the verdicts are as before', () => {
  const q = rng(3);
  const x = image(() => q());
  const y = image((i) => Math.min(1, Math.max(0, x.data[i]! + 0.2 * (q() - 0.5))));
  const d = image(() => q() - 0.5);

  it('the exact JVP in float32 is a match, 0 and -1 x it mismatches; the allowance is far below the threshold', () => {
    const exact = jvpByDifferences(x, y, d, 1e-4);
    const at = (k: number) => checkJvp({ x, y, options, dx: d, dy: null, candidate: Math.fround(k * exact) }).report;
    const one = at(1);
    expect(one.verdict).toBe('match');
    expect(one.allowance.l2 / Math.abs(exact)).toBeLessThan(1e-3);
    expect(one.diagnosis.some((e) => /cannot tell the candidate from/.test(e.message))).toBe(false);
    expect(at(0).verdict).toBe('mismatch');
    expect(at(-1).verdict).toBe('mismatch');
  });

  it('the gradient in float32 is a match, -1 x it a mismatch', () => {
    const g = evaluateSsim(x, y, options).gradX;
    expect(checkGradient({ x, y, options, wrt: 'x', candidate: g.map(Math.fround), subsample: false }).report.verdict).toBe('match');
    expect(checkGradient({ x, y, options, wrt: 'x', candidate: g.map((a) => -a), subsample: false }).report.verdict).toBe('mismatch');
  });
});
