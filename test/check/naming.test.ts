/**
 * Which known mistake the checker names when several are within tolerance: the nearest (smallest
 * distance, as-is or scaled), never whichever comes last in the library. The candidate is built by
 * hand: under the 3DGS loss with lambda = 1 - 1e-4 the L1 branch's gradient b = (1 - lambda)
 * sign(x - y) / N is ~4e-5 of the whole, so exact - 1.2 b (stored as float32, whose mistakes are
 * named within 1e-4 relative) is 0.2 b from "the L1 term left out" (exact - b), 0.8 b from "its sign
 * flipped" (exact - 2 b), and further from the others that still match.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from './configs.js';

describe('several known mistakes within tolerance', () => {
  const { x, y } = CHECK_CONFIGS[0]!;
  const lambda = 1 - 1e-4;
  const options: VariantOptions = { variant: '3dgs-loss', lambda };
  const exact = evaluateVariant(x, y, options).gradX;
  const N = exact.length;
  const xs = x.data as ArrayLike<number>;
  const ys = y.data as ArrayLike<number>;
  // d/dx of (1 - lambda) mean|x - y|, by hand
  const b = Float64Array.from({ length: N }, (_, i) => ((1 - lambda) * Math.sign(Number(xs[i]) - Number(ys[i]))) / N);
  const candidate = Float32Array.from(exact, (v, i) => v - 1.2 * b[i]!);
  const r = checkGradient({ x, y, options, wrt: 'x', candidate });
  const matched = r.report.mistakes.filter((d) => d.matched !== false);
  const best = (d: (typeof matched)[number]): number => Math.min(d.distance, d.scaled?.distance ?? Infinity);

  it('is a mismatch with more than one mistake matched', () => {
    expect(r.report.verdict).toBe('mismatch');
    expect(matched.length).toBeGreaterThan(1);
    expect(matched.map((d) => d.kind)).toContain('branch-sign:3dgs-loss.l');
  });

  it('names the nearest: the L1 term left out, at 0.2 b', () => {
    expect(r.named?.kind).toBe('branch-dropped:3dgs-loss.l');
    const nearest = Math.min(...matched.map(best));
    expect(best(matched.find((d) => d.kind === r.named!.kind)!)).toBe(nearest);
    // the diagnosis lists it first of the mistakes
    expect(r.report.diagnosis[0]!.kind).toBe('branch-dropped:3dgs-loss.l');
  });
});
