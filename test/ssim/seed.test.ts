/**
 * The seed question (shared/seed-question.md), reproduced: for the pytorch-ssim preset our
 * gradient equals autograd's, while the hand-derived per-pixel chain rule differs from it by far
 * more than float32 rounding. The per-pixel formula multiplies the pixel's own partials by
 * W^T 1 instead of correlating the partial maps with the window:
 *   seed(p) = (W^T 1)(p) * [ g_mu(p) + 2 x(p) g_xx(p) + y(p) g_xy(p) ]
 * (its lp_x cs + l cs_x, with the mean's 1/N in the g's).
 */
import { describe, expect, it } from 'vitest';
import { evaluateSsim } from '../../src/runtime/reference.js';
import { loadPeer, peerCase } from '../support/fixtures.js';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('the seed question', () => {
  const c = peerCase('pytorch-ssim-L1');
  const x = loadPeer(c.x);
  const e = evaluateSsim(x, loadPeer(c.y), { preset: 'pytorch-ssim' });
  const autograd64 = loadPeer(c.gradX!).data;
  const autograd32 = loadPeer(peerCase('pytorch-ssim-float32-autograd').gradX!).data;

  const ones = new Float64Array(e.partialsX.mu.length).fill(1);
  const WT1 = e.window.transpose(ones);
  const seed = e.x.map((xv, p) => WT1[p]! * (e.partialsX.mu[p]! + 2 * xv * e.partialsX.sq[p]! + e.y[p]! * e.partialsX.cross[p]!));

  const ourError = maxAbsDiff(e.gradX, autograd64);
  const float32Rounding = maxAbsDiff(autograd32, autograd64);
  const seedError = maxAbsDiff(seed, autograd64);

  it('our gradient equals float64 autograd (to rounding)', () => {
    console.log(`max |ours - autograd64| = ${ourError.toExponential(2)}; float32 autograd rounding = ${float32Rounding.toExponential(2)}; per-pixel chain rule = ${seedError.toExponential(2)}`);
    expect(ourError).toBeLessThan(1e-15);
  });

  it('float32 autograd differs from the exact gradient only by rounding', () => {
    expect(float32Rounding).toBeGreaterThan(0);
    expect(float32Rounding).toBeLessThan(1e-7);
  });

  it("the seed's per-pixel chain rule is wrong by far more than float32 rounding", () => {
    expect(seedError).toBeGreaterThan(1000 * float32Rounding);
  });

  it('the per-pixel formula is right only where it does not matter: the window transpose of a constant', () => {
    // with the partial maps constant, correlating them with the window equals multiplying by W^T 1
    const constant = new Float64Array(e.partialsX.mu.length).fill(0.37);
    const exact = e.window.transpose(constant);
    expect(maxAbsDiff(exact, WT1.map((v) => 0.37 * v))).toBeLessThan(1e-15);
  });
});
