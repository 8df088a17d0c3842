/** The tracer: the listed contributions and the rest add up to the exact gradient at the pixel. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePixel, tracePixel } from '../../src/check/trace.js';
import { KNOWN_MISTAKES } from '../../src/mistakes/ssim.js';
import { InputError } from '../../src/field/index.js';
import { evaluateSsim } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from './configs.js';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe.each(CHECK_CONFIGS)('trace: $name', (cfg) => {
  const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
  const [N, C, H, W] = e.shape;
  const exact = cfg.wrt === 'x' ? e.gradX : e.gradY;
  const pixel = fc.tuple(fc.nat(N - 1), fc.nat(C - 1), fc.nat(H - 1), fc.nat(W - 1));
  const corners: Array<[number, number, number, number]> = [[0, 0, 0, 0], [N - 1, C - 1, H - 1, W - 1], [0, 0, 2, W - 1], [0, C - 1, Math.floor(H / 2), Math.floor(W / 2)]];

  it('listed contributions + the rest = the exact gradient, and so do the three terms (1e-12 relative)', () => {
    fc.assert(
      fc.property(pixel, (p) => {
        const t = tracePixel({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, pixel: p, top: 5 });
        const g = exact[((p[0] * C + p[1]) * H + p[2]) * W + p[3]]!;
        const listed = t.contributions.reduce((s, k) => s + k.contribution, 0);
        // relative to the size of the terms: they cancel, and the gradient at a pixel can be near 0
        const scale = Math.abs(t.terms.mean) + Math.abs(t.terms.square) + Math.abs(t.terms.cross);
        const near = (a: number): boolean => Math.abs(a - g) <= 1e-12 * Math.max(Math.abs(g), scale);
        // the trace reads SSIM's graph (its exact value the generated kernels'), evaluateSsim the reference: equal to rounding
        expect(near(t.exact)).toBe(true);
        expect(near(listed + t.rest.sum)).toBe(true);
        expect(near(t.total)).toBe(true);
        expect(near(t.terms.mean + t.terms.square + t.terms.cross)).toBe(true);
        expect(t.contributions.length + t.rest.count).toBe(t.mapPixels);
      }),
      { numRuns: 25, examples: corners.map((c) => [c]) },
    );
  });

  it('the weights of the map pixels that read p add up to (W^T 1)(p), the per-pixel rule\'s factor', () => {
    for (const p of corners) {
      const t = tracePixel({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, pixel: p, top: 10_000 });
      expect(t.rest.count).toBe(0);
      expect(rel(t.contributions.reduce((s, k) => s + k.weight, 0), t.perPixel.wt1)).toBeLessThan(1e-12);
      // the list is ordered by magnitude
      for (let k = 1; k < t.contributions.length; k++) {
        expect(Math.abs(t.contributions[k]!.contribution)).toBeLessThanOrEqual(Math.abs(t.contributions[k - 1]!.contribution));
      }
    }
  });
});

describe('trace with a candidate', () => {
  it('names the per-pixel chain rule and the term that differs most', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    // the seed question's formula by hand (test/ssim/seed.test.ts), not the library's rewrite: (W^T 1)(p) times the partials at p
    const WT1 = e.window.transpose(new Float64Array(e.partialsX.mu.length).fill(1));
    const seed = e.x.map((xv, p) => WT1[p]! * (e.partialsX.mu[p]! + 2 * xv * e.partialsX.sq[p]! + e.y[p]! * e.partialsX.cross[p]!));
    // it is the library's mistake of that name (so the tracer's terms for it apply)
    const library = KNOWN_MISTAKES.find((m) => m.kind === 'per-pixel-chain-rule')!.build({ x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: 'x' })!;
    expect(Math.max(...seed.map((v, i) => Math.abs(v - library[i]!)))).toBeLessThanOrEqual(1e-12 * Math.max(...seed.map(Math.abs)));
    const t = tracePixel({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', pixel: [1, 2, 3, 4], candidate: { path: 'seed', data: seed } });
    expect(t.candidate!.verdict).toBe('mismatch');
    expect(t.candidate!.mistake!.kind).toBe('per-pixel-chain-rule');
    expect(t.candidate!.equalsPerPixel).toBe(true);
    expect(t.candidate!.differingTerm).not.toBeNull();
    const m = t.candidate!.mistake!.terms;
    expect(rel(m.mean + m.square + m.cross, t.candidate!.value)).toBeLessThan(1e-12);
  });
});

describe('--pixel', () => {
  it('takes n,c,i,j or the image\'s own rank, and names --pixel when it is wrong', () => {
    expect(parsePixel('1,2,3,4', [2, 3, 16, 20])).toEqual([1, 2, 3, 4]);
    expect(parsePixel('2,3,4', [3, 48, 64])).toEqual([0, 2, 3, 4]);
    expect(parsePixel('0,2,3,4', [3, 48, 64])).toEqual([0, 2, 3, 4]);
    expect(parsePixel('5,6', [16, 20])).toEqual([0, 0, 5, 6]);
    for (const bad of ['1,2', 'a,b,c,d', '1,2,3,-4', '', '1,2,3,4,5', '0,0,16,0', '2,0,0,0']) {
      expect(() => parsePixel(bad, [2, 3, 16, 20])).toThrow(InputError);
      expect(() => parsePixel(bad, [2, 3, 16, 20])).toThrow(/^--pixel: /);
    }
  });
});
