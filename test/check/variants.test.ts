/**
 * check and trace on every variant: the exact gradient (and its float32 rounding) is a match, a
 * perturbation above the floor is not, each variant's own known mistakes are named, the floor's
 * float32 emulation measures what SSIM's float32 kernel measures, trace's parts add up to the
 * exact value, and a bad variant option exits 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { differenceNorms, floorOf, norm2, roundingFloor } from '../../src/check/floor.js';
import { applicableMistakes, mistakesFor } from '../../src/mistakes/assemble.js';
import { variantGradient32 } from '../../src/check/variant-model.js';
import { l1Gradient, msGradient, msModel } from '../support/legacy-variant-model.js';
import { traceVariantPixel } from '../../src/check/variant-trace.js';
import type { Tensor } from '../../src/field/index.js';
import { formatNpy, readTensor } from '../../src/io/index.js';
import { evaluateSsim, evaluateVariant, type VariantOptions } from '../../src/runtime/index.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

/** Channels 0-1 of rows 10-34, columns 20-50 of the example pair (2 x 25 x 31: odd sizes for the pooling). */
function cropPair(t: Tensor): Tensor {
  const [, H, W] = t.shape as [number, number, number];
  const out: number[] = [];
  for (let c = 0; c < 2; c++) for (let i = 10; i < 35; i++) for (let j = 20; j < 51; j++) out.push(Number(t.data[(c * H + i) * W + j]));
  return { shape: [2, 25, 31], data: Float64Array.from(out) };
}
const X = cropPair(readTensor(EXAMPLE_X));
const Y = cropPair(readTensor(EXAMPLE_Y));

/**
 * Each variant's library holds, on these images, what its hand-written mistakes used to catch, now
 * rewrites of its graph (the old kind in a comment where the id changed), beside SSIM's inside it.
 */
const CONFIGS: ReadonlyArray<{ name: string; options: VariantOptions; wrt: 'x' | 'y'; expected: readonly string[] }> = [
  {
    name: 'dssim', options: { variant: 'dssim' }, wrt: 'x',
    expected: [
      'sign-flipped', // dssim-sign-forgotten
      'chain-factor-dropped:dssim.s', // dssim-ssim-gradient
      'chain-factor-scale-dropped:dssim.s', // dssim-divisor (the 1/2 forgotten)
      'dssim/per-pixel-chain-rule', 'dssim/square-term-factor', 'dssim/variances-independent-of-means', 'dssim/normaliser-none',
    ],
  },
  {
    name: 'dssim, divisor 1, d/dy', options: { variant: 'dssim', dssimDivisor: 1 }, wrt: 'y',
    // d ssim/dy itself (dssim-ssim-gradient) is minus the exact gradient here: sign-flipped
    expected: ['sign-flipped', 'dssim/per-pixel-chain-rule', 'dssim/square-term-factor', 'other-image'],
  },
  {
    name: '3dgs-loss', options: { variant: '3dgs-loss' }, wrt: 'x',
    expected: [
      'mean-count-dropped:x-y', // 3dgs-l1-not-divided-by-n
      'branch-sign:3dgs-loss.s', // 3dgs-ssim-term-sign
      'branch-dropped:3dgs-loss.l', // 3dgs-l1-dropped
      'weights-swapped:3dgs-loss', // 3dgs-lambda-swapped
      '3dgs-loss/per-pixel-chain-rule', '3dgs-loss/normaliser-none', '3dgs-loss/square-term-factor',
    ],
  },
  {
    name: '3dgs-loss, lambda 0.3, d/dy', options: { variant: '3dgs-loss', lambda: 0.3 }, wrt: 'y',
    expected: ['mean-count-dropped:x-y', 'branch-sign:3dgs-loss.s', 'branch-dropped:3dgs-loss.l', '3dgs-loss/per-pixel-chain-rule'],
  },
  {
    name: 'ms-ssim, 2 scales (zero-padded pooling)', options: { variant: 'ms-ssim', weights: [0.6, 0.4] }, wrt: 'x',
    expected: [
      'transpose-unnormalised:pool', // msssim-pool-transpose-no-quarter
      'product-rule-dropped:ms-ssim', // msssim-product-as-sum
      // msssim-coarse-scales-detached: with two scales the coarse scale's branch of the product left out (transpose-dropped:pool, the
      // pooling's transpose left out, is the same gradient and is listed after it; with more scales it is the only one)
      'branch-dropped:ms-ssim.f1',
      'ms-ssim/per-pixel-chain-rule', 'ms-ssim/square-term-factor',
      'other-image', // ms-ssim/other-image
    ],
  },
  {
    name: 'ms-ssim, tf preset (repeated last row), d/dy', options: { variant: 'ms-ssim', preset: 'tf', dataRange: 1, weights: [0.6, 0.4] }, wrt: 'y',
    expected: ['transpose-unnormalised:pool', 'product-rule-dropped:ms-ssim', 'branch-dropped:ms-ssim.f1', 'ms-ssim/per-pixel-chain-rule', 'other-image'],
  },
  {
    name: 'wang (2, 0.5, 1.5)', options: { variant: 'wang', alpha: 2, beta: 0.5, gamma: 1.5 }, wrt: 'x',
    expected: [
      'wang/ssim-map-partials', // wang-exponents-dropped
      'wang/per-pixel-chain-rule', 'wang/square-term-factor', 'wang/normaliser-none',
      'sign-flipped', // wang/sign-flipped
      'other-image', // wang/other-image
    ],
  },
];

describe.each(CONFIGS)('check --variant: $name', ({ options, wrt, expected }) => {
  const r = evaluateVariant(X, Y, options);
  const exact = wrt === 'x' ? r.gradX : r.gradY;
  const check = (candidate: ArrayLike<number>) => checkGradient({ x: X, y: Y, options, wrt, candidate });

  it('the exact gradient and its float32 rounding are a match; 64 x the floor in L2 is not, 4 x is', () => {
    const a = check(exact).report;
    expect(a.verdict).toBe('match');
    expect(a.variant?.name).toBe(options.variant);
    expect(check(Float32Array.from(exact)).report.verdict).toBe('match');
    const f = a.roundingFloor;
    const n = exact.length;
    const sign = (i: number): number => (Math.sin(7 * i + 1) >= 0 ? 1 : -1);
    const bump = (k: number) => exact.map((v, i) => v + (sign(i) * k * f.l2) / Math.sqrt(n));
    const big = check(bump(64)).report;
    expect(big.verdict).toBe('mismatch');
    expect(big.diagnosis.find((d) => d.kind === 'unexplained')).toBeDefined();
    expect(check(bump(4)).report.verdict).toBe('match');
  });

  it("the mistakes of the variant's graph (its own nodes' and SSIM's inside it) are named first (float64 and float32)", () => {
    const ctx = check(exact).context;
    const own = applicableMistakes(ctx, exact, mistakesFor(X, Y, options));
    for (const kind of expected) expect(own.map((m) => m.mistake.kind)).toContain(kind);
    for (const { mistake, gradient } of own) {
      for (const candidate of [gradient, Float32Array.from(gradient)]) {
        const q = check(candidate).report;
        expect(q.verdict, mistake.kind).toBe('mismatch');
        expect(q.mistakes[0]!.kind, mistake.kind).toBe(mistake.kind);
        expect(q.mistakes[0]!.matched).toBe('as-is');
        expect(q.diagnosis[0]!.kind).toBe(mistake.kind);
        // the next one is far: the name is not a coin toss (the closest pairs on these 25 x 31 images: the boundary
        // transposes, which differ only in the border band, about 45 x the tolerance apart)
        expect(q.mistakes[1]!.distance).toBeGreaterThan(20 * q.mistakeTolerance.value);
      }
    }
  });

  it("trace: the parts add up to the exact value at the pixel (1e-12 relative to the parts' size)", () => {
    for (const pixel of [[0, 0, 0, 0], [0, 1, 12, 15], [0, 1, 24, 30]] as const) {
      const t = traceVariantPixel({ x: X, y: Y, options, wrt, pixel });
      const p = ((pixel[0] * 2 + pixel[1]) * 25 + pixel[2]) * 31 + pixel[3];
      expect(t.exact).toBe(exact[p]);
      const parts = t.scales?.map((s) => Math.abs(s.terms.mean) + Math.abs(s.terms.square) + Math.abs(s.terms.cross)).reduce((a, b) => a + b, 0) ??
        (t.mapTrace ? Math.abs(t.mapTrace.terms.mean) + Math.abs(t.mapTrace.terms.square) + Math.abs(t.mapTrace.terms.cross) : 0) +
        (t.ssimTrace ? Math.abs(t.factor!) * (Math.abs(t.ssimTrace.terms.mean) + Math.abs(t.ssimTrace.terms.square) + Math.abs(t.ssimTrace.terms.cross)) : 0) +
        Math.abs(t.l1?.value ?? 0);
      expect(Math.abs(t.total - t.exact)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(t.exact), parts));
    }
  });
});

describe("the loss's own rewrites are the array formulas the hand-written variant mistakes had", () => {
  const rel = (a: Float64Array | null, b: Float64Array): number => (a === null ? Infinity : differenceNorms(a, b).l2 / norm2(b));
  const gradOf = (options: VariantOptions, wrt: 'x' | 'y', kind: string): Float64Array | null => {
    const r = evaluateVariant(X, Y, options);
    const ctx = checkGradient({ x: X, y: Y, options, wrt, candidate: wrt === 'x' ? r.gradX : r.gradY }).context;
    return mistakesFor(X, Y, options).find((m) => m.kind === kind)?.build(ctx) ?? null;
  };
  const ssimGrad = (wrt: 'x' | 'y'): Float64Array => (wrt === 'x' ? evaluateSsim(X, Y, {}).gradX : evaluateSsim(X, Y, {}).gradY);

  it('dssim: d ssim/dx itself (the chain factor left out), 2 x exact (the 1/2 forgotten)', () => {
    const o: VariantOptions = { variant: 'dssim' };
    expect(rel(gradOf(o, 'x', 'chain-factor-dropped:dssim.s'), ssimGrad('x'))).toBeLessThan(1e-13);
    expect(rel(gradOf(o, 'x', 'chain-factor-scale-dropped:dssim.s'), ssimGrad('x').map((v) => -v))).toBeLessThan(1e-13);
  });

  it('3dgs-loss: the L1 term as a sum, the SSIM term with +lambda, the L1 term left out, lambda and 1 - lambda swapped', () => {
    const lambda = 0.3;
    const o: VariantOptions = { variant: '3dgs-loss', lambda };
    for (const wrt of ['x', 'y'] as const) {
      const s = ssimGrad(wrt);
      const l1 = l1Gradient(X, Y, lambda, wrt);
      const l1Sum = l1Gradient(X, Y, lambda, wrt, false);
      expect(rel(gradOf(o, wrt, 'mean-count-dropped:x-y'), l1Sum.map((v, i) => v - lambda * s[i]!))).toBeLessThan(1e-13);
      expect(rel(gradOf(o, wrt, 'branch-sign:3dgs-loss.s'), l1.map((v, i) => v + lambda * s[i]!))).toBeLessThan(1e-13);
      expect(rel(gradOf(o, wrt, 'branch-dropped:3dgs-loss.l'), s.map((v) => -lambda * v))).toBeLessThan(1e-13);
      expect(rel(gradOf(o, wrt, 'weights-swapped:3dgs-loss'), l1.map((v, i) => (v * lambda) / (1 - lambda) - (1 - lambda) * s[i]!))).toBeLessThan(1e-13);
    }
  });

  it('ms-ssim: the pooling transposed without its 1/4, the product differentiated as a sum, only the finest scale', () => {
    const o: VariantOptions = { variant: 'ms-ssim', weights: [0.6, 0.4] };
    const m = msModel(X, Y, o);
    expect(rel(gradOf(o, 'x', 'transpose-unnormalised:pool'), msGradient(m, 'x', { poolFactor: 4 }))).toBeLessThan(1e-13);
    expect(rel(gradOf(o, 'x', 'product-rule-dropped:ms-ssim'), msGradient(msModel(X, Y, o, { asSum: true }), 'x'))).toBeLessThan(1e-13);
    expect(rel(gradOf(o, 'x', 'transpose-dropped:pool'), msGradient(m, 'x', { onlyScale0: true }))).toBeLessThan(1e-13);
    expect(rel(gradOf(o, 'x', 'branch-dropped:ms-ssim.f1'), msGradient(m, 'x', { onlyScale0: true }))).toBeLessThan(1e-13);
  });

  it("wang: SSIM's partials in place of the general form's", () => {
    expect(rel(gradOf({ variant: 'wang', alpha: 2, beta: 0.5, gamma: 1.5 }, 'x', 'wang/ssim-map-partials'), ssimGrad('x'))).toBeLessThan(1e-13);
  });
});

describe('the floor of ms-ssim and wang (float32 emulation of the whole variant)', () => {
  it("on one scale of S (ms-ssim, weights [1]) it measures what SSIM's generated float32 kernel measures, within a factor 3", () => {
    const e = evaluateSsim(X, Y, {});
    const kernel = roundingFloor(X, Y, {}, 'x', e.gradX);
    const o: VariantOptions = { variant: 'ms-ssim', weights: [1] };
    const emulated = floorOf(variantGradient32(X, Y, o, 'x'), evaluateVariant(X, Y, o).gradX);
    console.log(`floor, SSIM kernel: max ${kernel.maxAbs.toExponential(2)}, L2 ${kernel.l2.toExponential(2)}; emulated variant path: max ${emulated.maxAbs.toExponential(2)}, L2 ${emulated.l2.toExponential(2)}`);
    for (const k of ['maxAbs', 'l2'] as const) {
      expect(emulated[k] / kernel[k]).toBeGreaterThan(1 / 3);
      expect(emulated[k] / kernel[k]).toBeLessThan(3);
    }
  });
});

describe('ssim-grad check/trace --variant (in-process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-variant-'));
  const run = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
    return { status, stdout, stderr };
  };

  it('the exact 3DGS-loss gradient as .npy is a match (exit 0, JSON with the variant)', async () => {
    const x = readTensor(EXAMPLE_X);
    const y = readTensor(EXAMPLE_Y);
    const g = evaluateVariant(x, y, { variant: '3dgs-loss', lambda: 0.3 }).gradX;
    const path = join(dir, 'g.npy');
    writeFileSync(path, formatNpy({ shape: [...x.shape], data: g }));
    const r = await run(['check', path, EXAMPLE_X, EXAMPLE_Y, '--variant', '3dgs-loss', '--lambda', '0.3', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('match');
    expect(j.variant).toMatchObject({ name: '3dgs-loss', options: { lambda: 0.3 } });
    const t = await run(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,1,20,30', '--variant', '3dgs-loss', '--lambda', '0.3', '--candidate', path]);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/term through \|x - y\| \(outside the windowed maps\)/);
    expect(t.stdout).toMatch(/whole candidate: match/);
  });

  const zeros = join(dir, 'c.npy');
  writeFileSync(zeros, formatNpy({ shape: [3, 48, 64], data: new Float64Array(3 * 48 * 64) }));
  it.each([
    [['check', zeros, EXAMPLE_X, EXAMPLE_Y, '--variant', 'dssim', '--lambda', '0.3'], /lambda \(--lambda\): only the 3dgs-loss variant/],
    [['check', zeros, EXAMPLE_X, EXAMPLE_Y, '--weights', '1,1'], /weights \(--weights\): only the ms-ssim variant takes weights, the variant is ssim/],
    [['check', zeros, EXAMPLE_X, EXAMPLE_Y, '--variant', 'msssim'], /--variant: got 'msssim'/],
    [['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,0,1,1', '--variant', 'ms-ssim', '--weights', '1,x'], /--weights: got '1,x'/],
    [['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,0,1,1', '--variant', 'dssim', '--dssim-divisor', '3'], /dssimDivisor \(--dssim-divisor\): got 3, expected 1 or 2/],
    [['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,0,1,1', '--variant', 'ms-ssim'], /MS-SSIM with 5 scales/],
  ])('a bad variant option exits 2: %j', async (args, message) => {
    const r = await run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
