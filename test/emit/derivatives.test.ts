/**
 * The generated JVP and HVP kernels (src/generated/derivatives.ts, printed from
 * src/emit/cpu-derivatives.ts) against the graph interpreter (src/graph/forward.ts: forwardTangents
 * and hessianVector over plain SSIM's field graph, every block walked as its fine graph), which does
 * not share their schedule: every boundary rule, windows of 3, 7, 11 and 15 taps, a window that is
 * not square (pytorch-msssim leaves an axis shorter than the window unsmoothed), a crop with sample
 * covariance, tiny images; the unrolled kernels against the generic ones; <H v, w> = <v, H w> on the
 * kernels; float32 storage near the interpreter's float32 storage; and the printed kernels equal the
 * kernel program's interpreter (src/kernel/interpret.ts) bit for bit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KernelParams } from '../../src/emit/params.js';
import type { Tensor } from '../../src/field/index.js';
import { derivativeProgram } from '../../src/emit/cpu-derivatives.js';
import { KERNEL_FAMILIES } from '../../src/emit/families.js';
import { BOUNDARIES } from '../../src/field/boundary.js';
import * as derivatives from '../../src/generated/derivatives.js';
import { ssimDerivativeKernels } from '../../src/generated/derivatives.js';
import { boundaryIndexFunction, mapLengthFunction } from '../../src/kernel/index-rule.js';
import { interpretKernel } from '../../src/kernel/interpret.js';
import { forwardTangents, hessianVector } from '../../src/graph/forward.js';
import { topoOrder, type BlockNode } from '../../src/graph/node.js';
import { planKernel, kernelVariant } from '../../src/runtime/fast.js';
import type { SsimOptions } from '../../src/model/options.js';
import { variantGraph } from '../../src/variants/evaluate.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Case {
  readonly name: string;
  readonly options: SsimOptions;
  readonly shape: readonly [number, number, number, number];
}

const CASES: readonly Case[] = [
  { name: 'same, 11 taps (unrolled)', options: {}, shape: [1, 2, 13, 14] },
  { name: 'valid, 11 taps', options: { padding: 'valid' }, shape: [1, 1, 15, 17] },
  { name: 'reflect, box 7 (unrolled), sample covariance, crop (skimage)', options: { preset: 'skimage', dataRange: 1 }, shape: [1, 2, 12, 11] },
  { name: 'mirror, 3 taps', options: { padding: 'mirror', size: 3, sigma: 1 }, shape: [2, 1, 7, 6] },
  { name: 'replicate, 15 taps, sum reduction', options: { padding: 'replicate', size: 15, sigma: 2.5, reduction: 'sum' }, shape: [1, 2, 17, 16] },
  { name: 'mirror, Gaussian 7 taps (unrolled)', options: { padding: 'mirror', size: 7, sigma: 1.5 }, shape: [1, 1, 9, 12] },
  { name: 'same, 9 taps, a 2 x 3 image (tiny)', options: { size: 9, sigma: 1.5 }, shape: [1, 1, 2, 3] },
  { name: 'same, 11 taps, a 1 x 1 image', options: {}, shape: [1, 3, 1, 1] },
  { name: 'pytorch-msssim: valid, 11 x 1 (a short axis unsmoothed)', options: { preset: 'pytorch-msssim', dataRange: 1 }, shape: [1, 2, 8, 15] },
];

/** Images in [0, 1], y a noisy copy, and two directions in [-1, 1] per image. */
function draw(shape: readonly number[], seed: number) {
  const r = random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: n }, r);
  const y = x.map((v) => v + 0.3 * (r() - 0.5));
  const dir = (): Float64Array => Float64Array.from({ length: n }, () => 2 * r() - 1);
  return { x, y, v: { x: dir(), y: dir() }, w: { x: dir(), y: dir() } };
}

const tensor = (shape: readonly number[], data: Float64Array): Tensor => ({ shape: [...shape], data });

/** The largest |a - b| over the largest |b| (a relative error of arrays). */
function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return m === 0 ? d : d / m;
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

type Kernels = (typeof ssimDerivativeKernels)['generic'];
const kernelsFor = (p: KernelParams): Kernels => ssimDerivativeKernels[kernelVariant(p)];

/** The kernels' JVP (value, derivative, map and its tangent) and HVP (both rows). */
function onKernels(k: Kernels, p: KernelParams, d: ReturnType<typeof draw>, nMap: number) {
  const n = d.x.length;
  const tangent = new Float64Array(1);
  const map = new Float64Array(nMap), mapTangent = new Float64Array(nMap);
  const value = k.jvpF64(d.x, d.y, d.v.x, d.v.y, p, { tangent, map, mapTangent });
  const out = { gradX: new Float64Array(n), hvpX: new Float64Array(n), gradY: new Float64Array(n), hvpY: new Float64Array(n) };
  const hvpValue = k.hvpF64(d.x, d.y, d.v.x, d.v.y, p, out);
  return { value, jvp: tangent[0]!, map, mapTangent, hvpValue, ...out };
}

/** The interpreter's: forward mode and forward over reverse on SSIM's field graph. */
function onGraph(c: Case, d: ReturnType<typeof draw>) {
  const g = variantGraph(tensor(c.shape, d.x), tensor(c.shape, d.y), { ...c.options, variant: 'ssim' });
  const block = topoOrder([g.loss]).find((n): n is BlockNode => n.kind === 'block')!;
  const mapNode = block.parts.map!;
  const f = forwardTangents(g.loss, g.inputs, d.v, { at: [mapNode] });
  const h = hessianVector(g.loss, g.inputs, d.v, { wrt: ['x', 'y'] });
  return { value: f.value[0]!, jvp: f.tangent[0]!, map: f.values.get(mapNode.id)!, mapTangent: f.tangents.get(mapNode.id)!, hvpValue: h.value[0]!, gradX: h.grads.x!, gradY: h.grads.y!, hvpX: h.hvps.x!, hvpY: h.hvps.y! };
}

const TOL = 1e-13;

// first in the file: the program is built before the interpreter below interns second partials of its
// own (products order their factors by creation, so a program built after them may round apart from
// the committed kernels, which a fresh `npm run generate` builds)
describe('printed JVP and HVP kernels = the interpreted program', () => {
  it('every kernel, every boundary rule, bit for bit (value, derivative, map, gradients, HVP rows)', () => {
    const family = KERNEL_FAMILIES.find((f) => f.name === 'ssim')!;
    const funcs = [boundaryIndexFunction(), mapLengthFunction()];
    for (const { kernel, storage } of derivativeProgram(family).kernels) {
      const printed = (derivatives as unknown as Record<string, (...a: unknown[]) => number>)[kernel.name]!;
      expect(printed, kernel.name).toBeTypeOf('function');
      const run = interpretKernel(kernel, funcs, { real: storage, acc: 'float64', f64: 'float64' });
      const k = Number(/K(\d+)$/.exec(kernel.name)?.[1] ?? 5);
      const shape = [1, 2, 12, 13] as const;
      const d = draw(shape, 9);
      const A = storage === 'float32' ? Float32Array : Float64Array;
      const [x, y, vx, vy] = [d.x, d.y, d.v.x, d.v.y].map((a) => A.from(a));
      const n = x!.length;
      for (const padding of BOUNDARIES) {
        const p = planKernel(tensor(shape, d.x), tensor(shape, d.y), { padding, size: k, sigma: 1.5, ...(padding === 'mirror' ? { crop: 2 } : {}) } as SsimOptions).params;
        const jvp = kernel.name.includes('Jvp');
        const nm = p.N * p.C * (padding === 'valid' ? (p.H - k + 1) * (p.W - k + 1) : p.H * p.W);
        const out = (): Record<string, Float64Array | Float32Array> =>
          jvp ? { tangent: new Float64Array(1), map: new A(nm), mapTangent: new A(nm) } : { gradX: new A(n), hvpX: new A(n), gradY: new A(n), hvpY: new A(n) };
        const [o1, o2] = [out(), out()];
        const v1 = printed(x, y, vx, vy, p, o1);
        const v2 = run(jvp ? { x, y, dx: vx, dy: vy, p: { ...p, padding: BOUNDARIES.indexOf(padding) }, out: o2 } : { x, y, vx, vy, p: { ...p, padding: BOUNDARIES.indexOf(padding) }, out: o2 });
        expect(Object.is(v1, v2), `${kernel.name} ${padding}`).toBe(true);
        for (const key of Object.keys(o1)) expect(Array.from(o1[key]!), `${kernel.name} ${padding} ${key}`).toEqual(Array.from(o2[key]!));
      }
    }
  });
});

describe.each(CASES)('$name', (c) => {
  it('JVP and HVP kernels equal the graph interpreter to 1e-13 relative: value, jvp, the map and its tangent, both gradients, both HVP rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const d = draw(c.shape, seed);
        const p = planKernel(tensor(c.shape, d.x), tensor(c.shape, d.y), c.options).params;
        const want = onGraph(c, d);
        const got = onKernels(kernelsFor(p), p, d, want.map.length);
        expect(Math.abs(got.value - want.value)).toBeLessThanOrEqual(TOL * Math.abs(want.value));
        expect(Math.abs(got.hvpValue - want.value)).toBeLessThanOrEqual(TOL * Math.abs(want.value));
        // the JVP against the scale of its terms (it may cancel to near zero)
        const scale = dot(want.gradX.map(Math.abs), d.v.x.map(Math.abs)) + dot(want.gradY.map(Math.abs), d.v.y.map(Math.abs));
        expect(Math.abs(got.jvp - want.jvp)).toBeLessThanOrEqual(TOL * scale);
        for (const key of ['map', 'mapTangent', 'gradX', 'gradY', 'hvpX', 'hvpY'] as const) expect(relative(got[key], want[key]), key).toBeLessThanOrEqual(TOL);
      }),
      { numRuns: 2 },
    );
  });

  it('<H v, w> = <v, H w> on the HVP kernel (both images), and <grad, v> = jvp(v)', () => {
    const d = draw(c.shape, 77);
    const p = planKernel(tensor(c.shape, d.x), tensor(c.shape, d.y), c.options).params;
    const k = kernelsFor(p);
    const n = d.x.length;
    const hvp = (v: { x: Float64Array; y: Float64Array }) => {
      const out = { gradX: new Float64Array(n), hvpX: new Float64Array(n), gradY: new Float64Array(n), hvpY: new Float64Array(n) };
      k.hvpF64(d.x, d.y, v.x, v.y, p, out);
      return out;
    };
    const [hv, hw] = [hvp(d.v), hvp(d.w)];
    const a = dot(hv.hvpX, d.w.x) + dot(hv.hvpY, d.w.y);
    const b = dot(d.v.x, hw.hvpX) + dot(d.v.y, hw.hvpY);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * (Math.abs(a) + Math.abs(b)) + 1e-300);
    expect(Math.abs(a)).toBeGreaterThan(0);
    const tangent = new Float64Array(1);
    k.jvpF64(d.x, d.y, d.v.x, d.v.y, p, { tangent, map: null, mapTangent: null });
    const g = dot(hv.gradX, d.v.x) + dot(hv.gradY, d.v.y);
    expect(Math.abs(tangent[0]! - g)).toBeLessThanOrEqual(1e-12 * (dot(hv.gradX.map(Math.abs), d.v.x.map(Math.abs)) + dot(hv.gradY.map(Math.abs), d.v.y.map(Math.abs))));
  });
});

describe('the kernels\' variants', () => {
  const c = CASES[0]!;
  const d = draw(c.shape, 3);
  const p = planKernel(tensor(c.shape, d.x), tensor(c.shape, d.y), c.options).params;
  const n = d.x.length;

  it('the unrolled 11- and 7-tap kernels equal the generic ones to 1e-14', () => {
    for (const [k, options] of [['k11', {}], ['k7', { size: 7, sigma: 1.5 }]] as const) {
      const q = planKernel(tensor(c.shape, d.x), tensor(c.shape, d.y), options).params;
      expect(kernelVariant(q)).toBe(k);
      const a = onKernels(ssimDerivativeKernels[k], q, d, n);
      const b = onKernels(ssimDerivativeKernels.generic, q, d, n);
      for (const key of ['map', 'mapTangent', 'gradX', 'gradY', 'hvpX', 'hvpY'] as const) expect(relative(a[key], b[key]), `${k} ${key}`).toBeLessThanOrEqual(1e-14);
      expect(Math.abs(a.jvp - b.jvp)).toBeLessThanOrEqual(1e-14 * Math.abs(b.jvp));
    }
  });

  it("x's row alone (gradY, hvpY null) is the first half of both rows; the map is optional", () => {
    const both = onKernels(kernelsFor(p), p, d, n);
    const out = { gradX: new Float64Array(n), hvpX: new Float64Array(n), gradY: null, hvpY: null };
    kernelsFor(p).hvpF64(d.x, d.y, d.v.x, d.v.y, p, out);
    expect(relative(out.hvpX, both.hvpX)).toBeLessThanOrEqual(1e-15);
    expect(relative(out.gradX, both.gradX)).toBeLessThanOrEqual(1e-15);
    const tangent = new Float64Array(1);
    kernelsFor(p).jvpF64(d.x, d.y, d.v.x, d.v.y, p, { tangent, map: null, mapTangent: null });
    expect(tangent[0]).toBe(both.jvp);
  });

  it('float32 storage: within float32 rounding of the interpreter\'s float32 storage', () => {
    const g = variantGraph(tensor(c.shape, d.x), tensor(c.shape, d.y), { variant: 'ssim' });
    const h = hessianVector(g.loss, g.inputs, d.v, { wrt: ['x', 'y'], arith: 'float32-storage' });
    const f = forwardTangents(g.loss, g.inputs, d.v, { arith: 'float32-storage' });
    const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
    const out = { gradX: new Float32Array(n), hvpX: new Float32Array(n), gradY: new Float32Array(n), hvpY: new Float32Array(n) };
    kernelsFor(p).hvpF32(f32(d.x), f32(d.y), f32(d.v.x), f32(d.v.y), p, out);
    expect(relative(out.hvpX, h.hvps.x!)).toBeLessThanOrEqual(1e-6);
    expect(relative(out.hvpY, h.hvps.y!)).toBeLessThanOrEqual(1e-6);
    const tangent = new Float64Array(1);
    kernelsFor(p).jvpF32(f32(d.x), f32(d.y), f32(d.v.x), f32(d.v.y), p, { tangent, map: null, mapTangent: null });
    expect(Math.abs(tangent[0]! - f.tangent[0]!)).toBeLessThanOrEqual(1e-6 * Math.abs(f.tangent[0]!));
  });
});
