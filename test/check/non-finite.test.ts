/**
 * From finite inputs, `check` and `trace` print only finite figures, or refuse with exit 2 and one
 * line naming the cause, as `value` and `grad` do (issue 17, "Non-finite figures"): a candidate
 * holding a huge value (norms computed scaled, ratios clamped), extreme k1 / k2, flat images with
 * k1 = k2 = 0, images too small for float32, and a user variant whose value is NaN (a mask of zeros).
 * Every number in the text and in the --json report is scanned.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import { scaleFit, termFit } from '../../src/check/compare.js';
import { InputError, type Tensor } from '../../src/field/index.js';
import { formatNpy } from '../../src/io/index.js';
import { evaluateSsim } from '../../src/runtime/index.js';

const [H, W] = [16, 18];
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const r1 = lcg(21);
const r2 = lcg(22);
const X: Tensor = { shape: [2, H, W], data: Float64Array.from({ length: 2 * H * W }, () => r1()) };
const Y: Tensor = { shape: [2, H, W], data: X.data.map((v) => 0.7 * v + 0.3 * r2()) };
const FLAT: Tensor = { shape: [2, H, W], data: new Float64Array(2 * H * W).fill(0.5) };
const TINY: Tensor = { shape: X.shape, data: X.data.map((v) => 1e-12 * v) };
const TINY_Y: Tensor = { shape: Y.shape, data: Y.data.map((v) => 1e-12 * v) };

/**
 * Paths of non-finite numbers in a report (NaN, Infinity), and of nulls other than those that mean
 * "none" rather than a number: a mistake's absent `scaled`, the trace's candidate `mistake` and `differingTerm`.
 */
function badNumbers(v: unknown, path = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path} = ${v}`];
  if (v === null) return /\.(scaled|mistake|differingTerm)$/.test(path) ? [] : [`${path} = null`];
  if (typeof v !== 'object') return [];
  return Object.entries(v as object).flatMap(([k, w]) => badNumbers(w, `${path}.${k}`));
}

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-non-finite-'));
const save = (name: string, t: Tensor): string => {
  const path = join(dir, name);
  writeFileSync(path, formatNpy(t));
  return path;
};
const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += `${s}\n`; }, err: (s) => { err += `${s}\n`; } });
  return { code, out, err };
};

const x = save('x.npy', X);
const y = save('y.npy', Y);
const flat = save('flat.npy', FLAT);
const tinyX = save('tiny-x.npy', TINY);
const tinyY = save('tiny-y.npy', TINY_Y);
const exact = evaluateSsim(X, Y, {}).gradX;
const withAt = (name: string, values: ReadonlyArray<readonly [number, number]>): string => {
  const data = Float64Array.from(exact);
  for (const [i, v] of values) data[i] = v;
  return save(name, { shape: X.shape, data });
};
const huge = withAt('huge.npy', [[5, 1e300]]);
const hugeEdges = withAt('huge-edges.npy', [[0, 1.7e308], [1, -1.7e308], [300, 1e308], [301, -1e308]]);
const allHuge = save('all-huge.npy', { shape: X.shape, data: new Float64Array(2 * H * W).fill(1e300) });
const zero = save('zero.npy', { shape: X.shape, data: new Float64Array(2 * H * W) });
const zeroMask = save('zero-mask.npy', { shape: [H, W], data: new Float64Array(H * W) });
const masked = join(import.meta.dirname, '../../examples/variants/masked-ssim.ts');
const pixel = ['--pixel', '1,3,4'];

/** Runs text and --json; both must agree on the exit code, and every number in either must be finite. */
async function finiteBoth(argv: string[], code: number): Promise<void> {
  const text = await run(argv);
  expect(text.err, argv.join(' ')).toBe('');
  expect(text.code, `${argv.join(' ')}\n${text.out}`).toBe(code);
  expect(text.out.match(/.{0,60}\b(NaN|Infinity|null)\b.{0,30}/g), argv.join(' ')).toBeNull();
  const json = await run([...argv, '--json']);
  expect(json.code, argv.join(' ')).toBe(code);
  expect(json.out.match(/\b(NaN|Infinity)\b/g)).toBeNull();
  expect(badNumbers(JSON.parse(json.out)), argv.join(' ')).toEqual([]);
}

/** Exit 2 with one line on stderr, nothing on stdout, text and --json alike. */
async function refused(argv: string[], cause: RegExp): Promise<void> {
  for (const a of [argv, [...argv, '--json']]) {
    const r = await run(a);
    expect(r.code, `${a.join(' ')}\n${r.out}${r.err}`).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n'), a.join(' ')).toHaveLength(1);
    expect(r.err).toMatch(cause);
  }
}

describe('a candidate with huge values: a mismatch in finite figures', () => {
  for (const [name, cand] of [['one pixel of 1e300', huge], ['values of +-1.7e308 beside the exact ones', hugeEdges], ['every value 1e300', allHuge]] as const) {
    it(`check: ${name}`, async () => {
      await finiteBoth(['check', cand, x, y], 1);
    });
    it(`trace --candidate: ${name}`, async () => {
      await finiteBoth(['trace', x, y, ...pixel, '--candidate', cand], 0);
    });
  }

  it('the library: relative error, floors over floor, distances and fits are finite and honest (clamped at most to float64\'s largest)', () => {
    const data = Float64Array.from(exact);
    data[5] = 1e300;
    const r = checkGradient({ x: X, y: Y, options: {}, wrt: 'x', candidate: data }).report;
    expect(badNumbers(r)).toEqual([]);
    expect(r.verdict).toBe('mismatch');
    expect(r.maxAbsError).toBe(1e300);
    // ||d|| is 1e300 to rounding: the rest of the difference is 0
    expect(r.l2Error / 1e300).toBeCloseTo(1, 12);
    expect(r.errorOverFloor.l2).toBeGreaterThan(1e300);
    expect(r.scale.residual).toBeGreaterThan(0.9);
    expect(r.scale.residual).toBeLessThanOrEqual(1);
  });
});

describe('trace on degenerate images: finite figures (the relative difference where the exact value is 0)', () => {
  const black = save('black.npy', { shape: X.shape, data: new Float64Array(2 * H * W) });
  for (const opts of [[], ['--variant', 'wang', '--alpha', '1.5'], ['--variant', 'dssim']]) {
    it(`black x = y, constant x = y ${opts.join(' ') || 'plain'}`, async () => {
      await finiteBoth(['trace', black, black, ...pixel, ...opts], 0);
      await finiteBoth(['trace', flat, flat, ...pixel, ...opts, '--candidate', zero], 0);
    });
  }
});

describe('overflow-safe norms and fits (the checker\'s numerics)', () => {
  it('norm2 and differenceNorms of values near 1e300 and 1e-300 are finite and right', () => {
    expect(norm2([3e300, 4e300])).toBeCloseTo(5e300, -288);
    expect(norm2([3e-300, 4e-300]) / 5e-300).toBeCloseTo(1, 14);
    expect(norm2([1.7e308, 1.7e308])).toBe(Number.MAX_VALUE);
    expect(differenceNorms([1.7e308], [-1.7e308])).toEqual({ maxAbs: Number.MAX_VALUE, l2: Number.MAX_VALUE });
    // an infinite input is not clamped: it is reported as it is
    expect(norm2([Infinity, 1])).toBe(Infinity);
    expect(Number.isNaN(norm2([NaN, 1]))).toBe(true);
  });

  it('scaleFit and termFit of a candidate with a value of 1e300 are finite', () => {
    const ref = Float64Array.from({ length: 50 }, (_, i) => Math.sin(i + 1));
    const cand = ref.map((v) => 3 * v);
    cand[7] = 1e300;
    const s = scaleFit(cand, ref);
    expect(Number.isFinite(s.k) && Number.isFinite(s.residual)).toBe(true);
    // the fit is dominated by the huge value: k = 1e300 ref[7] / ||ref||^2
    let rr = 0;
    for (const v of ref) rr += v * v;
    expect(s.k / ((1e300 * ref[7]!) / rr)).toBeCloseTo(1, 10);
    const t = termFit(cand, [ref, ref.map((v, i) => Math.cos(i) * v), ref.map((_, i) => (i % 3) - 1)]);
    expect([t.mean, t.square, t.cross, t.residual].every(Number.isFinite)).toBe(true);
  });

  it('scaleFit and termFit where candidate x reference overflows (1.7e308 against values of 1e10): the least-squares answer, finite', () => {
    const ref = Float64Array.from({ length: 50 }, (_, i) => 1e10 * Math.sin(i + 1));
    const cand = ref.map((v) => 3 * v);
    cand[7] = 1.7e308;
    let rr = 0;
    for (const v of ref) rr += v * v;
    // k = <c, r> / <r, r> = 3 + (1.7e308 - 3 r7) r7 / ||r||^2, written so that nothing overflows
    const k = 3 + (1.7e308 / rr) * ref[7]! - (3 * ref[7]! * ref[7]!) / rr;
    const s = scaleFit(cand, ref);
    expect(s.k / k).toBeCloseTo(1, 10);
    // the candidate is 1.7e308 at index 7 to 1e-288: the fit leaves sqrt(1 - r7^2 / ||r||^2) of it
    expect(s.residual).toBeCloseTo(Math.sqrt(1 - (ref[7]! * ref[7]!) / rr), 10);
    const t = termFit(cand, [ref, ref.map((v, i) => Math.cos(i) * v), ref.map((_, i) => 1e10 * ((i % 3) - 1))]);
    expect([t.mean, t.square, t.cross, t.residual].every(Number.isFinite)).toBe(true);
    expect(t.residual).toBeLessThanOrEqual(1);
  });
});

describe('inputs value and grad refuse: check and trace refuse them too (exit 2, one line naming the cause)', () => {
  const cases: ReadonlyArray<{ name: string; images: [string, string]; opts: string[]; cause: RegExp; valueRefuses: boolean }> = [
    { name: 'k1 = k2 = 1e100', images: [x, y], opts: ['--k1', '1e100', '--k2', '1e100'], cause: /k1 L = 1.00e\+100.*overflow float64/, valueRefuses: true },
    { name: 'flat images with k1 = k2 = 0', images: [flat, flat], opts: ['--k1', '0', '--k2', '0'], cause: /with --k1 0 or --k2 0 a flat window gives 0\/0/, valueRefuses: true },
    { name: 'masked-ssim with a mask of zeros', images: [x, y], opts: ['--variant-file', masked, '--mask', zeroMask], cause: /masked-ssim variant's loss is not a number.*--mask is zero everywhere/, valueRefuses: true },
  ];
  for (const c of cases) {
    it(`${c.name}: value, grad, check and trace (with and without a candidate) are exit 2`, async () => {
      const [a, b] = c.images;
      if (c.valueRefuses) {
        await refused(['value', a, b, ...c.opts], c.cause);
        const g = join(dir, 'never.npy');
        const r = await run(['grad', a, b, ...c.opts, '--out', g]);
        expect(r.code).toBe(2);
      }
      await refused(['check', zero, a, b, ...c.opts], c.cause);
      await refused(['trace', a, b, ...pixel, ...c.opts], c.cause);
      await refused(['trace', a, b, ...pixel, ...c.opts, '--candidate', zero], c.cause);
    }, 60_000);
  }

  it('a candidate module that returns NaN where SSIM itself is NaN: the refusal names the cause (k = 0 on flat images), not the candidate', async () => {
    const mod = join(dir, 'nan-gradient.mjs');
    writeFileSync(mod, 'export function gradient(x) { return { shape: x.shape, data: new Float64Array(x.data.length).fill(NaN) }; }\n');
    await refused(['check', mod, flat, flat, '--k1', '0', '--k2', '0'], /the result is NaN under these options; with --k1 0 or --k2 0 a flat window gives 0\/0/);
    await refused(['trace', flat, flat, ...pixel, '--k1', '0', '--k2', '0', '--candidate', mod], /with --k1 0 or --k2 0 a flat window gives 0\/0/);
    // on inputs where SSIM is finite, the NaN is the candidate's
    await refused(['check', mod, x, y], /nan-gradient\.mjs.*NaN/);
  }, 60_000);

  it('k1 = k2 = 1e20: SSIM is finite in float64 (value and trace run), but the float32 floor cannot be measured: check is exit 2 naming k1', async () => {
    const opts = ['--k1', '1e20', '--k2', '1e20'];
    const v = await run(['value', x, y, ...opts]);
    expect(v.code).toBe(0);
    await finiteBoth(['trace', x, y, ...pixel, ...opts], 0);
    await refused(['check', zero, x, y, ...opts], /rounding floor .* k1 L \(--k1 1e\+20 .*overflow float32/);
    await refused(['trace', x, y, ...pixel, ...opts, '--candidate', zero], /rounding floor .*overflow float32/);
  }, 60_000);

  it('images of values near 1e-12: float32 underflows, so check refuses (exit 2, naming the underflow); value and trace are finite', async () => {
    const opts = ['--data-range', '1e-12'];
    expect((await run(['value', tinyX, tinyY, ...opts])).code).toBe(0);
    await finiteBoth(['trace', tinyX, tinyY, ...pixel, ...opts], 0);
    await refused(['check', zero, tinyX, tinyY, ...opts], /rounding floor .*underflow float32/);
  }, 60_000);

  it('the library refuses with an InputError too (default names x, y)', () => {
    expect(() => checkGradient({ x: FLAT, y: FLAT, options: { k1: 0, k2: 0 }, wrt: 'x', candidate: new Float64Array(2 * H * W) })).toThrow(InputError);
    expect(() => checkGradient({ x: X, y: Y, options: { k1: 1e20, k2: 1e20 }, wrt: 'x', candidate: new Float64Array(2 * H * W) })).toThrow(/overflow float32/);
  });
});
