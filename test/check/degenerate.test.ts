/**
 * Degenerate inputs: constant images, black images, x = y (where the exact gradient is ~0), and a
 * saturated patch (a zero-variance region). Wang's zero-variance rule is the same in float64 and
 * in float32 arithmetic; the floor and every figure of a report stay finite; the terms fit does not
 * turn a singular system into NaN; and the CLI's reports, text and JSON, carry no NaN, Infinity or
 * null where a number belongs, on every variant and preset.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { termFit } from '../../src/check/compare.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { FLOOR_ALLOWANCE, floorOf } from '../../src/check/floor.js';
import { variantGradient32 } from '../../src/check/variant-model.js';
import { variable } from '../../src/expr/index.js';
import type { Tensor } from '../../src/field/index.js';
import { formatNpy, readTensor } from '../../src/io/index.js';
import { evaluateSsim, evaluateVariant, type VariantOptions } from '../../src/runtime/index.js';
import { dSigmaDVar } from '../../src/variants/wang.js';
import { input, map } from '../../src/graph/build.js';
import { evaluateGraph } from '../../src/graph/evaluate.js';

const [C, H, W] = [2, 32, 36];
/** A deterministic generator in [0, 1) (the inputs are fixed; nothing depends on a fast-check seed). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const image = (f: (c: number, i: number, j: number) => number): Tensor => {
  const data = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) data[(c * H + i) * W + j] = f(c, i, j);
  return { shape: [C, H, W], data };
};
const inPatch = (i: number, j: number): boolean => i >= 6 && i < 26 && j >= 8 && j < 28;
const r1 = lcg(7);
const r2 = lcg(11);
/** x saturated (1.0) on a 20 x 20 patch, textured elsewhere; y textured everywhere (the patch is flat in x only). */
const PATCH_X = image((_c, i, j) => (inPatch(i, j) ? 1 : 0.2 + 0.6 * r1()));
const PATCH_Y = image((c, i, j) => Math.min(1, 0.9 * PATCH_X.data[(c * H + i) * W + j]! + 0.1 * r2()));
/** Both saturated on the same patch. */
const BOTH_Y = image((c, i, j) => (inPatch(i, j) ? 1 : PATCH_Y.data[(c * H + i) * W + j]!));
const HALF = image(() => 0.5);
const DIM = image(() => 0.3);
const BLACK = image(() => 0);

const PAIRS: ReadonlyArray<{ name: string; x: Tensor; y: Tensor }> = [
  { name: 'constant, x = y', x: HALF, y: HALF },
  { name: 'constant, x != y', x: HALF, y: DIM },
  { name: 'saturated patch in x', x: PATCH_X, y: PATCH_Y },
  { name: 'saturated patch in both', x: PATCH_X, y: BOTH_Y },
  { name: 'black, x = y', x: BLACK, y: BLACK },
];

/** Paths of non-finite numbers in a report (NaN, Infinity), and of nulls other than a mistake's absent `scaled`. */
function badNumbers(v: unknown, path = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path} = ${v}`];
  if (v === null) return /\.scaled$/.test(path) ? [] : [`${path} = null`];
  if (typeof v !== 'object') return [];
  return Object.entries(v as object).flatMap(([k, w]) => badNumbers(w, `${path}.${k}`));
}

describe("Wang's zero-variance rule (d sigma/d var = 0 where var <= 0)", () => {
  it('is the same in float64 and in float32 arithmetic: 0 at var <= 0, 1/(2 sqrt(var)) above, finite everywhere', () => {
    const vars = [-1e-12, 0, 1e-40, 0.04, 0.25];
    // 1e-40 is under the guard 1e-30 (documented in src/variants/wang.ts): 1/(2 sqrt(1e-30)) = 5e14
    const expected = [0, 0, 5e14, 2.5, 1];
    // the rule as a map of the field graph, in its two arithmetics
    const rule = map(dSigmaDVar(variable('v')), { v: input('v', [1, 1, 1, vars.length]) });
    for (const arith of ['float64', 'float32'] as const) {
      const out = [evaluateGraph(rule, { v: Float64Array.from(vars) }, { arith }).value];
      for (let k = 0; k < vars.length; k++) {
        expect(Number.isFinite(out[0]![k]!), `${arith} at var = ${vars[k]}`).toBe(true);
        expect(Math.abs(out[0]![k]! - expected[k]!), `${arith} at var = ${vars[k]}: ${out[0]![k]}`).toBeLessThanOrEqual(1e-6 * expected[k]!);
      }
    }
  });

  const wangs: VariantOptions[] = [{ variant: 'wang', alpha: 1.5, beta: 0.5, gamma: 2 }, { variant: 'wang' }, { variant: 'wang', alpha: 2, beta: 1, gamma: 0.5, preset: 'skimage', dataRange: 1 }];
  for (const o of wangs) {
    for (const pair of PAIRS) {
      it(`${JSON.stringify(o)}, ${pair.name}: the float32 gradient is finite and the exact gradient is a match with a finite floor`, () => {
        for (const wrt of ['x', 'y'] as const) {
          const g32 = variantGradient32(pair.x, pair.y, o, wrt);
          expect(g32.every(Number.isFinite)).toBe(true);
          const exact = evaluateVariant(pair.x, pair.y, o)[wrt === 'x' ? 'gradX' : 'gradY'];
          const r = checkGradient({ x: pair.x, y: pair.y, options: o, wrt, candidate: exact });
          expect(badNumbers(r.report)).toEqual([]);
          expect(r.report.roundingFloor.l2).toBeGreaterThan(0);
          expect(r.report.verdict).toBe('match');
        }
      });
    }
  }

  it('on a patch flat in x only, the float64 gradient is the symmetric derivative there (central differences), the rule\'s meaning', () => {
    // sigma_x = |t| s near a flat window: F = smooth(t) + odd and even kinks; the symmetric
    // difference drops the |t| part, which is what d sigma/d var = 0 drops from the gradient
    const o: VariantOptions = { variant: 'wang', alpha: 1.5, beta: 0.5, gamma: 2 };
    const g = evaluateVariant(PATCH_X, PATCH_Y, o).gradX;
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    // h = 1e-4: small enough for the smooth part (errors O(h)), large enough that t^2 w(1 - w), the
    // variance a far tap w adds, stays above float64's rounding of var = m_xx - mu^2 (about 1e-16)
    const h = 1e-4;
    let kink = 0;
    for (const [i, j] of [[10, 12], [15, 17], [20, 22]] as const) {
      const p = i * W + j;
      const at = (t: number): number => {
        const data = Float64Array.from(PATCH_X.data);
        data[p] = data[p]! + t;
        return evaluateVariant({ shape: PATCH_X.shape, data }, PATCH_Y, o).value;
      };
      const [minus, zero, plus] = [at(-h), at(0), at(h)];
      const central = (plus - minus) / (2 * h);
      expect(Math.abs(g[p]! - central), `pixel (${i}, ${j}): exact ${g[p]}, central ${central}`).toBeLessThanOrEqual(5e-3 * scale);
      kink = Math.max(kink, Math.abs((plus - zero) / h - (zero - minus) / h));
    }
    // the one-sided derivatives differ by far more than that: the rule decides the gradient here
    expect(kink).toBeGreaterThan(0.5 * scale);
  });
});

describe('relative figures where the exact gradient is ~0', () => {
  it("floorOf raises a zero floor on a zero gradient to float32's smallest positive number, never to 0, whatever unit is passed", () => {
    const zero = new Float64Array(100);
    // 2^-149, written out: float32's smallest subnormal, the least a float32 gradient can differ from 0 by
    const smallest = 1.401298464324817e-45;
    expect(Math.fround(smallest)).toBe(smallest);
    expect(Math.fround(smallest / 2)).toBe(0);
    for (const unit of [0, 1e-3, 1e16]) {
      const f = floorOf(zero, zero, unit);
      expect(f.maxAbs).toBe(smallest);
      expect(f.l2).toBeCloseTo(smallest * 10, 58);
      expect(f.relL2).toBe(1 / FLOOR_ALLOWANCE);
    }
  });

  it('floorOf: the relative floor of an exact gradient under the allowance is 1/FLOOR_ALLOWANCE, not floor/noise', () => {
    const exact = Float64Array.from({ length: 100 }, (_, i) => (i % 2 ? 1e-17 : -1e-17));
    const g = Float64Array.from({ length: 100 }, (_, i) => (i % 3 ? 1e-9 : -2e-9));
    expect(floorOf(g, exact).relL2).toBe(1 / FLOOR_ALLOWANCE);
    // above the allowance, the ordinary l2 / ||exact||
    const big = Float64Array.from({ length: 100 }, () => 1e-3);
    const f = floorOf(big.map((v, i) => v + g[i]!), big);
    expect(f.relL2).toBeCloseTo(f.l2 / 1e-2, 15);
  });

  it('constant x = y with a wrong candidate: mismatch, every figure finite, relative error over the allowance, no mistake named', () => {
    const exact = evaluateSsim(HALF, HALF, {}).gradX;
    const candidate = exact.map((v, i) => v + (i % 7 === 0 ? 1e-4 : 0));
    const r = checkGradient({ x: HALF, y: HALF, options: {}, wrt: 'x', candidate });
    expect(badNumbers(r.report)).toEqual([]);
    expect(r.report.verdict).toBe('mismatch');
    expect(r.report.relError).toBeCloseTo(r.report.l2Error / (FLOOR_ALLOWANCE * r.report.roundingFloor.l2), 12);
    expect(r.named).toBeNull();
    expect(r.report.diagnosis.map((d) => d.kind)).toEqual(['unexplained', 'scale', 'where', 'terms']);
    // no "k x the exact gradient: a normalisation mistake" against a gradient that is zero to rounding
    expect(r.report.diagnosis[1]!.message).toMatch(/^no single scale explains it/);
    expect(r.report.diagnosis[3]!.message).toMatch(/^not a combination of the three exact terms/);
  });

  it('constant x = y: a candidate that is a mistake not zero there (the factor 2 dropped) is still named', () => {
    const e = evaluateSsim(HALF, HALF, {});
    // T1 + T2/2 + T3 by hand from the three terms: W^T g_mu, 2x W^T g_xx, y W^T g_xy
    const t = e.termsX;
    const candidate = t.mean.map((v, i) => v + t.square[i]! / 2 + t.cross[i]!);
    const r = checkGradient({ x: HALF, y: HALF, options: {}, wrt: 'x', candidate });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('square-term-factor');
  });
});

describe('the terms fit on singular systems', () => {
  const n = 50;
  const r = lcg(3);
  const T1 = Float64Array.from({ length: n }, () => r() - 0.5);
  const T2 = Float64Array.from({ length: n }, () => r() - 0.5);
  // -T2 up to a relative 1e-6: eigenvalue about 4e-14, under TERM_RCOND (constant images give 1e-17)
  const minusT2 = T2.map((v) => -v * (1 + 1e-6 * (r() - 0.5)));

  it('all three terms zero: coefficients stay 1, rank 0, nothing NaN', () => {
    const zero = new Float64Array(n);
    const f = termFit(T1, [zero, zero, zero]);
    expect(f).toEqual({ mean: 1, square: 1, cross: 1, residual: 1, rank: 0 });
  });

  it('two proportional terms (T3 = -T2 to 1e-6, as on constant images): finite, rank 2, the minimum-norm departure from 1, 1, 1', () => {
    // candidate = 0.5 T1 + 2 T2 = a T1 + b T2 + c T3 whenever a = 0.5 and b - c = 2; the departure
    // from (1, 1, 1) of least norm is (-0.5, 1, -1). The 1e-5 outside the terms' span is what an
    // ordinary solve would fit along T2 + T3 (1e-6 of them) with coefficients of order 10.
    const candidate = T1.map((v, i) => 0.5 * v + 2 * T2[i]! + 1e-5 * (r() - 0.5));
    const f = termFit(candidate, [T1, T2, minusT2]);
    expect(f.rank).toBe(2);
    expect(f.mean).toBeCloseTo(0.5, 4);
    expect(f.square).toBeCloseTo(2, 4);
    expect(f.cross).toBeCloseTo(0, 4);
    expect(f.residual).toBeLessThan(1e-4);
  });

  it('independent terms: the ordinary least-squares coefficients', () => {
    const T3 = Float64Array.from({ length: n }, () => r() - 0.5);
    const candidate = T1.map((v, i) => 0.5 * v + 2 * T2[i]! - 1.5 * T3[i]!);
    const f = termFit(candidate, [T1, T2, T3]);
    expect(f.rank).toBe(3);
    expect([f.mean, f.square, f.cross].map((v) => Number(v.toFixed(9)))).toEqual([0.5, 2, -1.5]);
  });
});

describe('CLI reports on degenerate inputs carry no NaN, Infinity or null where a number belongs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-degenerate-'));
  const save = (name: string, t: Tensor): string => {
    const path = join(dir, name);
    writeFileSync(path, formatNpy(t));
    return path;
  };
  const files = PAIRS.map((p, k) => ({ name: p.name, x: save(`x${k}.npy`, p.x), y: save(`y${k}.npy`, p.y) }));
  const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (s) => { out += `${s}\n`; }, err: (s) => { err += `${s}\n`; } });
    return { code, out, err };
  };
  // every variant on the default preset; SSIM and Wang's general form on every preset
  const presets = [[], ['--preset', 'pytorch-msssim'], ['--preset', 'skimage', '--data-range', '1'], ['--preset', 'tf', '--data-range', '1'], ['--preset', 'matlab', '--downsample', '1']];
  const wang = ['--variant', 'wang', '--alpha', '1.5', '--beta', '0.5', '--gamma', '2'];
  const configs: string[][] = [
    ...presets.map((p) => p),
    ...presets.map((p) => [...p, ...wang]),
    ['--variant', 'ms-ssim', '--weights', '0.6,0.4'],
    ['--variant', 'dssim'],
    ['--variant', '3dgs-loss'],
    ['--variant', 'wang'],
    [...wang, '--wrt', 'y'],
  ];
  for (const f of files) {
    it(`${f.name}: the exact gradient (grad's output) is a match and a wrong one a mismatch, under ${configs.length} configurations`, async () => {
      for (const opts of configs) {
        const what = `${f.name}, ${opts.join(' ') || 'defaults'}`;
        const g = join(dir, 'g.npy');
        const made = await run(['grad', f.x, f.y, ...opts, '--out', g]);
        expect(made.code, `${what}: grad: ${made.err}`).toBe(0);
        const exact = readTensor(g);
        // wrong by 1e-4 at every 7th pixel: far above any floor here (about 1e-7)
        const wrong = save('wrong.npy', { shape: exact.shape, data: Float64Array.from(exact.data, (v, i) => v + (i % 7 === 0 ? 1e-4 : 0)) });
        for (const [cand, code] of [[g, 0], [wrong, 1]] as const) {
          const text = await run(['check', cand, f.x, f.y, ...opts]);
          expect(text.err, what).toBe('');
          expect(text.code, `${what}, ${cand}:\n${text.out}`).toBe(code);
          expect(text.out.match(/.{0,50}(NaN|Infinity).{0,30}/g), `${what}, ${cand}`).toBeNull();
          const json = await run(['check', cand, f.x, f.y, ...opts, '--json']);
          expect(json.code, what).toBe(code);
          expect(badNumbers(JSON.parse(json.out)), `${what}, ${cand}`).toEqual([]);
        }
      }
    }, 120_000);
  }
});
