/**
 * The verdict against the measured rounding floor: float32 gradients made independently (PyTorch
 * float32 autograd, test/fixtures/torch and peers) are matches, perturbations beyond the allowance
 * are mismatches. Prints the numbers the allowance
 * factor rests on (src/check/floor.ts, FLOOR_ALLOWANCE).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { differenceNorms, FLOOR_ALLOWANCE, norm2, roundingFloor } from '../../src/check/floor.js';
import { applicableMistakes } from '../../src/mistakes/assemble.js';
import { evaluateSsim, type VariantOptions } from '../../src/runtime/index.js';
import lumaSsim from '../../examples/variants/luma-ssim.js';
import maskedSsim from '../../examples/variants/masked-ssim.js';
import { loadPeer, loadTorch, peerCase, torchCase, torchCases, type TorchCase } from '../support/fixtures.js';
import { uniform } from '../support/uniform.js';
import { CHECK_CONFIGS } from './configs.js';

describe('float32 versions of the exact gradient are matches', () => {
  it('PyTorch float32 autograd (the committed fixture) is a match, with a wide margin', () => {
    const c = peerCase('pytorch-ssim-float32-autograd');
    const x = loadPeer(c.x);
    const y = loadPeer(c.y);
    const torch32 = loadPeer(c.gradX!).data;
    const r = checkGradient({ x, y, options: c.options, wrt: 'x', candidate: torch32 }).report;
    const floors = { maxAbs: r.errorOverFloor.maxAbs, l2: r.errorOverFloor.l2 };
    console.log(
      `pytorch-ssim-L1: floor max abs ${r.roundingFloor.maxAbs.toExponential(2)}, L2 ${r.roundingFloor.l2.toExponential(2)}; ` +
        `PyTorch float32 autograd: max abs ${r.maxAbsError.toExponential(2)} (${floors.maxAbs.toFixed(2)} floors), L2 ${r.l2Error.toExponential(2)} (${floors.l2.toFixed(2)} floors); allowance ${FLOOR_ALLOWANCE} floors`,
    );
    expect(r.verdict).toBe('match');
    expect(Math.max(floors.maxAbs, floors.l2)).toBeLessThan(FLOOR_ALLOWANCE / 5);
    expect(r.candidateIsFloat32).toBe(true);
  });

  // Each test configuration's PyTorch float32 autograd (scripts/make_torch_fixtures.py): float32 taps,
  // inputs and arithmetic in torch's own order, made without this code. The floor is built from our
  // emulated float32 kernel; a candidate made by that same kernel could only fail if the allowance
  // fell below 1, so the candidates here are torch's.
  const TORCH32: Record<string, string> = {
    'pytorch-ssim (zero padding), d/dx': 'pytorch-ssim',
    'pytorch-ssim (zero padding), d/dy': 'pytorch-ssim',
    'mirror padding': 'mirror',
    'replicate padding, reduction sum': 'replicate-sum',
    'skimage (reflect, sample covariance, crop 3)': 'skimage-rgb-box',
    "pytorch-msssim ('valid', L 255)": 'valid-gaussian-L255',
  };

  it('every test configuration has a PyTorch float32 fixture with its options and inputs', () => {
    for (const cfg of CHECK_CONFIGS) {
      const t = torchCase(TORCH32[cfg.name]!);
      expect(t.options, cfg.name).toEqual(cfg.options);
      expect(Array.from(loadTorch(t.x).data), cfg.name).toEqual(Array.from(cfg.x.data as ArrayLike<number>, Number));
    }
  });

  it.each(CHECK_CONFIGS.map((c) => [c.name, c] as const))('%s: PyTorch float32 autograd is a match, between 0.75 and 8 floors (the floor is a float32 implementation\'s size)', (_, cfg) => {
    const t = torchCase(TORCH32[cfg.name]!);
    const candidate = loadTorch(cfg.wrt === 'x' ? t.gradX32 : t.gradY32).data;
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, candidate }).report;
    expect(r.verdict).toBe('match');
    expect(r.diagnosis.map((d) => d.kind)).toEqual(['rounding']);
    expect(r.candidateIsFloat32).toBe(true);
    // too small a floor (float32 modelled too well) would call torch a mismatch; too large lets mistakes through
    const floors = Math.max(r.errorOverFloor.maxAbs, r.errorOverFloor.l2);
    expect(floors).toBeLessThan(8);
    expect(floors).toBeGreaterThan(0.75);
  });

  it.each(CHECK_CONFIGS.map((c) => [c.name, c] as const))('%s: the exact gradient stored as float32 is a match', (_, cfg) => {
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const candidate = Float32Array.from(cfg.wrt === 'x' ? e.gradX : e.gradY);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, candidate }).report;
    expect(r.verdict).toBe('match');
    expect(r.diagnosis.map((d) => d.kind)).toEqual(['rounding']);
  });

  it('the float64 exact gradient is a match at 0 floors', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: e.gradX }).report;
    expect(r.verdict).toBe('match');
    expect(r.maxAbsError).toBe(0);
    expect(r.candidateIsFloat32).toBe(false);
  });
});

describe("the variants' floors: PyTorch float32 autograd of each is a match (test/fixtures/torch)", () => {
  const variants = torchCases.filter((c) => c.options.variant !== undefined);
  it('holds dssim, the 3DGS loss, ms-ssim and wang', () => {
    expect(variants.map((c) => c.options.variant).sort()).toEqual(['3dgs-loss', 'dssim', 'ms-ssim', 'wang']);
  });

  // ms-ssim's check takes seconds: d/dx alone there (S is symmetric, its d/dy runs the same code on y, x)
  const wrts = (c: TorchCase): ReadonlyArray<'x' | 'y'> => (c.options.variant === 'ms-ssim' ? ['x'] : ['x', 'y']);
  it.each(variants.flatMap((c) => wrts(c).map((wrt) => [c.name, wrt, c] as const)))('%s, d/d%s: a match between 0.75 and 8 floors', (_, wrt, c) => {
    const x = loadTorch(c.x);
    const y = loadTorch(c.y);
    const candidate = loadTorch(wrt === 'x' ? c.gradX32 : c.gradY32).data;
    const r = checkGradient({ x, y, options: c.options, wrt, candidate }).report;
    expect(r.verdict).toBe('match');
    expect(r.diagnosis.map((d) => d.kind)).toEqual(['rounding']);
    const floors = Math.max(r.errorOverFloor.maxAbs, r.errorOverFloor.l2);
    expect(floors).toBeLessThan(8);
    expect(floors).toBeGreaterThan(0.75);
  });
});

describe("a user variant's floor: PyTorch float32 autograd of the two examples (examples/variants) is a match", () => {
  const cases = [
    ['masked-ssim-rgb', (c: TorchCase): VariantOptions => ({ ...c.options, variant: maskedSsim, variantOptions: { mask: loadTorch(c.mask!) } })],
    ['luma-ssim-709', (c: TorchCase): VariantOptions => ({ preset: 'pytorch-ssim', dataRange: 1, variant: lumaSsim, variantOptions: { coefficients: (c.options as { coefficients: number[] }).coefficients } })],
  ] as const;
  it.each(cases.flatMap(([name, options]) => (['x', 'y'] as const).map((wrt) => [name, wrt, options] as const)))('%s, d/d%s: a match between 0.75 and 8 floors', (name, wrt, optionsOf) => {
    const c = torchCase(name);
    const r = checkGradient({ x: loadTorch(c.x), y: loadTorch(c.y), options: optionsOf(c), wrt, candidate: loadTorch(wrt === 'x' ? c.gradX32 : c.gradY32).data }).report;
    expect(r.verdict).toBe('match');
    expect(r.variant?.name).toBeDefined();
    expect(r.diagnosis.map((d) => d.kind)).toEqual(['rounding']);
    const floors = Math.max(r.errorOverFloor.maxAbs, r.errorOverFloor.l2);
    expect(floors).toBeLessThan(8);
    expect(floors).toBeGreaterThan(0.75);
  });
});

describe('perturbations beyond the allowance are mismatches', () => {
  const cfg = CHECK_CONFIGS[0]!;
  const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
  const exact = e.gradX;
  const base = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: exact }).report;
  const allowed = base.allowance;

  // a random direction, scaled to a chosen L2 norm
  const direction = (seed: number, n: number): Float64Array => {
    let s = seed >>> 0 || 1;
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      d[i] = s / 2 ** 32 - 0.5;
    }
    const dn = norm2(d);
    return d.map((v) => v / dn);
  };

  it('spread perturbations with L2 norm above the allowance', () => {
    fc.assert(
      fc.property(fc.integer(), uniform(1.5, 1e4), (seed, times) => {
        const d = direction(seed, exact.length);
        const candidate = exact.map((v, i) => v + times * allowed.l2 * d[i]!);
        const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate }).report;
        return r.verdict === 'mismatch' && r.l2Error > allowed.l2;
      }),
      { numRuns: 12 },
    );
  });

  it('one pixel off by more than the max-abs allowance', () => {
    fc.assert(
      fc.property(fc.nat(exact.length - 1), uniform(1.5, 1e4), fc.boolean(), (p, times, negative) => {
        const candidate = exact.slice();
        candidate[p] = candidate[p]! + (negative ? -1 : 1) * times * allowed.maxAbs;
        return checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate }).report.verdict === 'mismatch';
      }),
      { numRuns: 12 },
    );
  });

  it('perturbations well inside the allowance stay matches', () => {
    fc.assert(
      fc.property(fc.integer(), uniform(0, 0.5), (seed, times) => {
        const d = direction(seed, exact.length);
        // within both: L2 at most half the allowance, and so max abs at most that too
        const scale = times * Math.min(allowed.l2, allowed.maxAbs);
        const candidate = exact.map((v, i) => v + scale * d[i]!);
        return checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate }).report.verdict === 'match';
      }),
      { numRuns: 8 },
    );
  });

  it('every known mistake on every test configuration is thousands of floors away', () => {
    let nearest = { floors: Infinity, what: '' };
    for (const c of CHECK_CONFIGS) {
      const ec = evaluateSsim(c.x, c.y, c.options);
      const ex = c.wrt === 'x' ? ec.gradX : ec.gradY;
      const floor = roundingFloor(c.x, c.y, c.options, c.wrt, ex);
      for (const { mistake, gradient } of applicableMistakes({ x: c.x, y: c.y, options: c.options, e: ec, wrt: c.wrt }, ex)) {
        const d = differenceNorms(gradient, ex);
        // a mistake passes only when both errors are within the allowance
        const floors = Math.max(d.l2 / floor.l2, d.maxAbs / floor.maxAbs);
        if (floors < nearest.floors) nearest = { floors, what: `${mistake.kind} (${c.name})` };
      }
    }
    console.log(`nearest known mistake: ${nearest.what} at ${nearest.floors.toExponential(2)} floors; the allowance is ${FLOOR_ALLOWANCE}`);
    expect(nearest.floors).toBeGreaterThan(100 * FLOOR_ALLOWANCE);
  });
});
