/**
 * Our float64 reference against fixtures made by the real peers (scripts/make_fixtures.py):
 * PyTorch autograd in float64, scikit-image's structural_similarity, and numpy
 * re-implementations of tf.image.ssim and Wang's ssim.m following their sources.
 */
import { describe, expect, it } from 'vitest';
import { evaluateSsim } from '../../src/runtime/reference.js';
import { ssimGradFast } from '../../src/runtime/fast.js';
import { loadPeer, loadTorch, peerCases, torchCases } from '../support/fixtures.js';

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const float64Cases = peerCases.filter((c) => c.peer !== 'torch-autograd-float32');

describe('presets reproduce the peers (float64)', () => {
  it('has fixtures from torch, skimage and the re-implementations', () => {
    const peers = new Set(peerCases.map((c) => c.peer));
    expect(peers).toContain('torch-autograd');
    expect(peers).toContain('skimage.structural_similarity');
    expect(float64Cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(float64Cases.map((c) => [c.name, c] as const))('%s: value to 1e-10 relative', (_, c) => {
    const e = evaluateSsim(loadPeer(c.x), loadPeer(c.y), c.options);
    expect(Math.abs(e.ssim - c.value) / Math.abs(c.value)).toBeLessThanOrEqual(1e-10);
  });

  const withGradients = float64Cases.filter((c) => c.gradX !== null);
  it.each(withGradients.map((c) => [c.name, c] as const))('%s: gradients to 1e-9 relative (max-abs over the largest element)', (_, c) => {
    const e = evaluateSsim(loadPeer(c.x), loadPeer(c.y), c.options);
    for (const [ours, file] of [[e.gradX, c.gradX], [e.gradY, c.gradY]] as const) {
      const theirs = loadPeer(file!).data;
      expect(ours.length).toBe(theirs.length);
      expect(maxAbsDiff(ours, theirs) / maxAbs(theirs)).toBeLessThanOrEqual(1e-9);
    }
  });

  const withDifferences = float64Cases.filter((c) => c.centralDifferences !== null);
  it.each(withDifferences.map((c) => [c.name, c] as const))(
    "%s: gradient against central differences of skimage's own value",
    (_, c) => {
      const x = loadPeer(c.x);
      const e = evaluateSsim(x, loadPeer(c.y), c.options);
      const [N, C, H, W] = [1, 1, ...x.shape].slice(-4) as [number, number, number, number];
      expect(N * C * H * W).toBe(e.gradX.length);
      const cd = c.centralDifferences!;
      // 4th-order stencil with h = 1e-3 L: truncation and rounding both below 1e-9 of these derivatives
      cd.pixels.forEach(([n, ch, i, j], k) => {
        const ours = e.gradX[((n * C + ch) * H + i) * W + j]!;
        expect(Math.abs(ours - cd.values[k]!)).toBeLessThanOrEqual(1e-6 * Math.abs(cd.values[k]!) + 1e-12);
      });
    },
  );
});

describe("PyTorch's padding rules: F.pad 'reflect' (mirror) and 'replicate' (scripts/make_torch_fixtures.py, float64 autograd)", () => {
  const withFloat64 = torchCases.filter((c) => c.value !== null);
  it('holds the mirror and replicate cases', () => {
    expect(withFloat64.map((c) => c.options.padding).sort()).toEqual(['mirror', 'replicate']);
  });

  it.each(withFloat64.map((c) => [c.name, c] as const))('%s: the graph and the generated kernels give its value to 1e-12 and gradients to 1e-10', (_, c) => {
    const x = loadTorch(c.x);
    const y = loadTorch(c.y);
    const e = evaluateSsim(x, y, c.options);
    const fast = ssimGradFast(x, y, c.options);
    for (const value of [e.ssim, fast.ssim]) expect(Math.abs(value - c.value!) / Math.abs(c.value!)).toBeLessThanOrEqual(1e-12);
    for (const [ours, file] of [[e.gradX, c.gradX], [e.gradY, c.gradY], [fast.gradX.data, c.gradX], [fast.gradY!.data, c.gradY]] as const) {
      const theirs = loadTorch(file!).data;
      expect(ours.length).toBe(theirs.length);
      expect(maxAbsDiff(ours, theirs) / maxAbs(theirs)).toBeLessThanOrEqual(1e-10);
    }
  });
});
