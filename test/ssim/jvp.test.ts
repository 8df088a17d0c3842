/**
 * JVPs and HVPs of SSIM and its variants (src/runtime/jvp.ts): for plain SSIM under several
 * presets and boundaries, MS-SSIM (both poolings), Wang's form, the 3DGS loss, DSSIM and user
 * variants (a field option, channels, pooling), against what does not use forward mode: five-point
 * central differences of the value and of the gradient (evaluateVariant: the generated kernels and
 * reverse mode), jvp(d) = <grad, d>, <H v, w> = <v, H w>; the float32 arithmetics near float64;
 * the SSIM map's tangent; the arguments checked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, type Tensor } from '../../src/field/index.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/variants.js';
import { ssimHvp, ssimJvp, variantHvp, variantJvp } from '../../src/runtime/jvp.js';
import { defineVariant } from '../../src/variants/define.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Case {
  readonly name: string;
  readonly options: VariantOptions;
  readonly shape: readonly number[];
  /** A smooth scene (MS-SSIM: every scale's cs stays positive, off relu's kink). */
  readonly smooth?: boolean;
}

const mask = (shape: readonly number[]): Tensor => {
  const [N, , H, W] = shape as [number, number, number, number];
  return { shape: [N, 1, H, W], data: Float64Array.from({ length: N * H * W }, (_, i) => 0.3 + 0.6 * (0.5 + 0.5 * Math.sin(i / 5))) };
};

/** A user's variant: log(1 + mean(m S) / mean(m)), m a field option broadcast over the channels. */
const maskedLog = defineVariant({
  name: 'masked-log-ssim',
  summary: 'log(1 + mean(m S) / mean(m))',
  options: { mask: { kind: 'field', help: 'a weight per pixel' } },
  downsamples: false,
  loss: ({ x, y, fields, g }) =>
    g.map(({ a, b }) => g.e.log(g.e.add(1, g.e.div(a!, b!))), { a: g.mean(g.mul(fields.mask!, g.ssimMap(x, y))), b: g.mean(fields.mask!) }),
});

/** A user's variant: SSIM of the luma of the pooled images, squared. */
const pooledLuma = defineVariant({
  name: 'pooled-luma-ssim',
  summary: 'SSIM(P M x, P M y)^2',
  loss: ({ x, y, g }) => {
    const L = [[0.2126, 0.7152, 0.0722]];
    const s = g.ssim(g.pool(g.channels(x, L), 'zero'), g.pool(g.channels(y, L), 'zero'));
    return g.mul(s, s);
  },
});

const CASES: readonly Case[] = [
  { name: 'ssim pytorch-ssim', options: { variant: 'ssim', preset: 'pytorch-ssim' }, shape: [1, 2, 13, 14] },
  { name: 'ssim skimage (valid, sample covariance, crop)', options: { variant: 'ssim', preset: 'skimage', dataRange: 1 }, shape: [1, 1, 14, 13] },
  { name: 'ssim tf', options: { variant: 'ssim', preset: 'tf', dataRange: 1 }, shape: [2, 1, 13, 13] },
  { name: 'ssim pytorch-msssim', options: { variant: 'ssim', preset: 'pytorch-msssim', dataRange: 1 }, shape: [1, 1, 14, 15] },
  { name: 'ssim reflect, 7 taps', options: { variant: 'ssim', padding: 'reflect', size: 7, sigma: 1.5 }, shape: [1, 2, 11, 12] },
  { name: 'ssim replicate, sum reduction', options: { variant: 'ssim', padding: 'replicate', reduction: 'sum' }, shape: [1, 2, 12, 12] },
  { name: 'ms-ssim pytorch-msssim, 3 scales', options: { variant: 'ms-ssim', preset: 'pytorch-msssim', dataRange: 1, weights: [0.2, 0.3, 0.5] }, shape: [1, 1, 43, 45], smooth: true },
  { name: 'ms-ssim tf, 2 scales', options: { variant: 'ms-ssim', preset: 'tf', dataRange: 1, weights: [0.3, 0.7] }, shape: [1, 2, 23, 25], smooth: true },
  { name: 'dssim', options: { variant: 'dssim' }, shape: [1, 2, 12, 13] },
  { name: '3dgs-loss, lambda 0.3', options: { variant: '3dgs-loss', lambda: 0.3 }, shape: [1, 3, 12, 12] },
  { name: 'wang 1.5, 0.5, 1.25', options: { variant: 'wang', alpha: 1.5, beta: 0.5, gamma: 1.25 }, shape: [1, 2, 12, 13] },
  { name: 'user: masked log SSIM (a field option)', options: { variant: maskedLog, mask: mask([1, 2, 12, 13]) } as VariantOptions, shape: [1, 2, 12, 13] },
  { name: 'user: pooled luma SSIM squared', options: { variant: pooledLuma }, shape: [1, 3, 22, 23] },
];

/**
 * Images for a seed: x in [0, 1] (smooth where asked), y = x + noise of magnitude 0.05 to 0.3
 * (the 3DGS loss's |x - y| is kept off its kink by more than any central difference moves), and
 * two directions with components in [-1, 1].
 */
function draw(c: Case, seed: number) {
  const rand = random(seed);
  const n = c.shape.reduce((a, b) => a * b, 1);
  const W = c.shape[3]!;
  const xs = Float64Array.from({ length: n }, (_, i) =>
    c.smooth === true ? 0.5 + 0.3 * Math.sin((i % W) / 5 + seed) * Math.cos(Math.floor(i / W) / 7) + 0.1 * rand() : rand(),
  );
  const ys = xs.map((v) => v + (rand() < 0.5 ? -1 : 1) * (c.smooth === true ? 0.02 + 0.05 * rand() : 0.05 + 0.25 * rand()));
  const dir = (): Float64Array => Float64Array.from({ length: n }, () => 2 * rand() - 1);
  const t = (d: Float64Array): Tensor => ({ shape: c.shape, data: d });
  return { x: t(xs), y: t(ys), v: { x: t(dir()), y: t(dir()) }, w: { x: t(dir()), y: t(dir()) } };
}

const along = (t: Tensor, d: Tensor, s: number): Tensor => ({ shape: t.shape, data: t.data.map((u, i) => u + s * d.data[i]!) });
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
};
const stencil = (f: (s: number) => number, h: number): number => (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h);

describe.each(CASES)('$name', (c) => {
  it('jvp agrees with central differences of the value and with <grad, (dx, dy)>', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const { x, y, v } = draw(c, seed);
        const j = variantJvp(x, y, v.x, v.y, c.options);
        const g = evaluateVariant(x, y, c.options);
        const f = (s: number): number => evaluateVariant(along(x, v.x, s), along(y, v.y, s), c.options).value;
        const cd = stencil(f, 1e-3);
        const scale = dot(g.gradX.map(Math.abs), v.x.data.map(Math.abs)) + dot(g.gradY.map(Math.abs), v.y.data.map(Math.abs));
        expect(Math.abs(j.value - g.value)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(g.value)));
        expect(Math.abs(j.jvp - cd)).toBeLessThanOrEqual(1e-7 * scale + 1e-11);
        expect(Math.abs(j.jvp - (dot(g.gradX, v.x.data) + dot(g.gradY, v.y.data)))).toBeLessThanOrEqual(1e-12 * scale);
        // a direction of one image alone
        const jx = variantJvp(x, y, v.x, null, c.options);
        expect(Math.abs(jx.jvp - dot(g.gradX, v.x.data))).toBeLessThanOrEqual(1e-12 * scale);
        const jy = variantJvp(x, y, null, v.y, c.options);
        expect(Math.abs(jy.jvp - dot(g.gradY, v.y.data))).toBeLessThanOrEqual(1e-12 * scale);
      }),
      { numRuns: 2 },
    );
  });

  it('hvp agrees with central differences of the gradient, per image and for both; <H v, w> = <v, H w>', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const { x, y, v, w } = draw(c, seed);
        const both = variantHvp(x, y, v, { ...c.options, wrt: 'both' });
        const grad = (s: number) => evaluateVariant(along(x, v.x, s), along(y, v.y, s), c.options);
        const h = 1e-3;
        const [p1, m1, p2, m2] = [grad(h), grad(-h), grad(2 * h), grad(-2 * h)];
        for (const [k, got] of [['gradX', both.hvpX!], ['gradY', both.hvpY!]] as const) {
          const scale = maxAbs(got);
          let worst = 0;
          got.forEach((u, i) => {
            const cd = (8 * (p1[k][i]! - m1[k][i]!) - (p2[k][i]! - m2[k][i]!)) / (12 * h);
            worst = Math.max(worst, Math.abs(u - cd));
          });
          expect(worst, k).toBeLessThanOrEqual(1e-6 * scale + 1e-10);
        }
        const g = evaluateVariant(x, y, c.options);
        expect(maxAbs(both.gradX!.map((u, i) => u - g.gradX[i]!))).toBeLessThanOrEqual(1e-12 * maxAbs(g.gradX) + 1e-300);
        // the rows one at a time: wrt x with v_x alone is H_xx v_x, with { x, y } it is H_xx v_x + H_xy v_y
        const xx = variantHvp(x, y, v.x, { ...c.options, wrt: 'x' });
        const xy = variantHvp(x, y, { y: v.y }, { ...c.options, wrt: 'x' });
        expect(xx.hvpY).toBeNull();
        expect(maxAbs(both.hvpX!.map((u, i) => u - xx.hvpX![i]! - xy.hvpX![i]!))).toBeLessThanOrEqual(1e-12 * maxAbs(both.hvpX!) + 1e-15);
        const yy = variantHvp(x, y, v.y, { ...c.options, wrt: 'y' });
        const yx = variantHvp(x, y, { x: v.x }, { ...c.options, wrt: 'y' });
        expect(maxAbs(both.hvpY!.map((u, i) => u - yy.hvpY![i]! - yx.hvpY![i]!))).toBeLessThanOrEqual(1e-12 * maxAbs(both.hvpY!) + 1e-15);
        // symmetry of the whole Hessian
        const hw = variantHvp(x, y, w, { ...c.options, wrt: 'both' });
        const a = dot(both.hvpX!, w.x.data) + dot(both.hvpY!, w.y.data);
        const b = dot(v.x.data, hw.hvpX!) + dot(v.y.data, hw.hvpY!);
        expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-10 * (Math.abs(a) + Math.abs(b)) + 1e-14);
      }),
      { numRuns: 1 },
    );
  });

  it('float32 arithmetic and float32 storage: float32 numbers, near float64', () => {
    const { x, y, v } = draw(c, 12345);
    const j64 = variantJvp(x, y, v.x, v.y, c.options);
    const h64 = variantHvp(x, y, v, { ...c.options, wrt: 'both' });
    const g = evaluateVariant(x, y, c.options);
    const scale = dot(g.gradX.map(Math.abs), v.x.data.map(Math.abs)) + dot(g.gradY.map(Math.abs), v.y.data.map(Math.abs));
    const results: Float64Array[] = [];
    for (const arith of ['float32', 'float32-storage'] as const) {
      const j = variantJvp(x, y, v.x, v.y, { ...c.options, arith });
      expect(Math.fround(j.jvp)).toBe(j.jvp);
      expect(Math.abs(j.jvp - j64.jvp), arith).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
      const h = variantHvp(x, y, v, { ...c.options, wrt: 'both', arith });
      for (const [got, want] of [[h.hvpX!, h64.hvpX!], [h.hvpY!, h64.hvpY!]] as const) {
        for (const u of got) expect(Math.fround(u)).toBe(u);
        expect(maxAbs(got.map((u, i) => u - want[i]!)), arith).toBeLessThanOrEqual(2e-3 * maxAbs(want) + 1e-6);
      }
      results.push(h.hvpX!);
    }
    // float32 arithmetic rounds inside, not only at the end
    expect(results[0]!.some((u, i) => u !== results[1]![i])).toBe(true);
  });
});

describe('ssimJvp and ssimHvp: plain SSIM with SsimOptions', () => {
  const c: Case = { name: 'ssim', options: {}, shape: [1, 2, 13, 12] };

  it('the SSIM map and its tangent: the map averages to the SSIM, its tangent is the map\'s central difference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.constantFrom<'same' | 'valid' | 'reflect'>('same', 'valid', 'reflect'), (seed, padding) => {
        const { x, y, v } = draw(c, seed);
        const r = ssimJvp(x, y, v.x, v.y, { padding });
        expect(r.map.label).toBe('S');
        const mean = r.map.value.reduce((s, u) => s + u, 0) / r.map.value.length;
        expect(Math.abs(mean - evaluateVariant(x, y, { padding }).value)).toBeLessThanOrEqual(1e-12);
        const h = 1e-4;
        const at = (s: number): Float64Array => ssimJvp(along(x, v.x, s), along(y, v.y, s), null, null, { padding }).map.value;
        const [p, m] = [at(h), at(-h)];
        const scale = maxAbs(r.map.tangent);
        r.map.tangent.forEach((u, i) => expect(Math.abs(u - (p[i]! - m[i]!) / (2 * h))).toBeLessThanOrEqual(1e-6 * scale + 1e-9));
        // the map's tangent averages to the JVP
        expect(Math.abs(r.map.tangent.reduce((s, u) => s + u, 0) / r.map.tangent.length - r.jvp)).toBeLessThanOrEqual(1e-13);
      }),
      { numRuns: 3 },
    );
  });

  it('ssimHvp is variantHvp of plain SSIM; wrt x by default', () => {
    const { x, y, v } = draw(c, 99);
    const a = ssimHvp(x, y, v.x, { preset: 'skimage', dataRange: 1 });
    const b = variantHvp(x, y, v.x, { variant: 'ssim', preset: 'skimage', dataRange: 1, wrt: 'x' });
    expect(a.ssim).toBe(b.value);
    expect(Array.from(a.hvpX!)).toEqual(Array.from(b.hvpX!));
    expect(a.hvpY).toBeNull();
    expect(a.gradY).toBeNull();
  });

  it('bad arguments are InputErrors naming them', () => {
    const { x, y, v } = draw(c, 5);
    const small: Tensor = { shape: [1, 2, 12, 12], data: new Float64Array(288) };
    expect(() => ssimJvp(x, y, small, null)).toThrow(InputError);
    expect(() => ssimJvp(x, y, small, null)).toThrow(/^dx: shape/);
    expect(() => ssimJvp(x, y, null, small)).toThrow(/^dy: shape/);
    expect(() => ssimJvp(x, y, v.x, null, { arith: 'half' as never })).toThrow(/^arith: got/);
    expect(() => ssimHvp(x, y, v.x, { wrt: 'z' as never })).toThrow(/^wrt: got/);
    expect(() => ssimHvp(x, y, v.x, { wrt: 'both' })).toThrow(/^v: with wrt both/);
    expect(() => ssimHvp(x, y, { x: small }, { wrt: 'both' })).toThrow(/^v\.x: shape/);
    const nan = { shape: x.shape, data: x.data.map((u, i) => (i === 3 ? NaN : u)) };
    expect(() => ssimJvp(x, y, nan, null)).toThrow(/^dx: value at flat index 3/);
  });
});
