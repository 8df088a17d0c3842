/**
 * Forward mode and second order over the field graph (src/graph/forward.ts), on random graphs that
 * use every node kind (every linear kind of the table under a random boundary, broadcast maps,
 * every reduction, an SSIM block): the JVP against central differences of the value and against
 * reverse mode's gradient (jvp(d) = <grad, d>), the HVP against central differences of reverse
 * mode's gradient and symmetric (<H v, w> = <v, H w>), and both in float32 arithmetic rounding
 * every number they return and staying near float64.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, div, exp, mul, variable } from '../../src/expr/index.js';
import { BOUNDARIES, gaussianTaps, sizeOf, type Shape4 } from '../../src/field/index.js';
import { binary, input, linear, map, reduce } from '../../src/graph/build.js';
import { evaluateGraph } from '../../src/graph/evaluate.js';
import { forwardTangents, hessianVector } from '../../src/graph/forward.js';
import type { FieldNode } from '../../src/graph/node.js';
import { windowedMap } from '../../src/graph/ssim.js';
import { ssimMap } from '../../src/model/maps.js';
import { resolveOptions } from '../../src/model/options.js';
import { BLOCK_KERNELS } from '../../src/runtime/blocks.js';

const cases = fc.record({
  N: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 12, max: 15 }),
  W: fc.integer({ min: 12, max: 15 }),
  boundary: fc.constantFrom(...BOUNDARIES),
  pool: fc.constantFrom('zero' as const, 'symmetric' as const),
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'planeMean' as const, 'planeSum' as const),
  seed: fc.integer({ min: 1, max: 1e6 }),
});
type Case = typeof cases extends fc.Arbitrary<infer T> ? T : never;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const INPUTS = ['x', 'y', 'mask'] as const;

/** A smooth loss over x, y (N x 3 x H x W) and a mask (N x 1 x H x W) with every node kind. */
function build(c: Case) {
  const shape: Shape4 = [c.N, 3, c.H, c.W];
  const x = input('x', shape);
  const y = input('y', shape);
  const m = input('mask', [c.N, 1, c.H, c.W]);
  const [a, b] = [variable('a'), variable('b')];
  const W = (f: FieldNode): FieldNode => linear({ kind: 'window', taps: gaussianTaps(5, 1.1), boundary: c.boundary, skipShortAxes: false }, f);
  // a non-symmetric channel mix (3 -> 2), windowed, times the mask broadcast over channels
  const mixed = W(linear({ kind: 'channels', matrix: [[0.3, -0.6, 0.9], [0.5, 0.2, -0.4]] }, binary((u, v) => mul(u, exp(mul(0.5, v))), x, y)));
  const mw = c.boundary === 'valid' ? linear({ kind: 'crop', top: 2, bottom: 2, left: 2, right: 2 }, m) : m;
  const weighted = binary((u, v) => mul(u, v, v), mixed, mw);
  // pooled and downsampled y against x, through a nonlinear map with a per-plane broadcast
  const py = linear({ kind: 'pool', mode: c.pool }, binary((u, v) => div(u, add(1, mul(v, v))), y, x));
  const dx = linear({ kind: 'downsample', f: 2 }, x);
  const planes = reduce('planeMean', dx);
  const r = reduce(c.reduction, map(add(mul(a, a, b), mul(-3, a)), { a: py, b: planes }));
  // SSIM of x and y as a block (walked as its fine graph by forward mode)
  const options = { preset: 'pytorch-ssim', size: 5, padding: c.boundary === 'valid' ? 'valid' : 'same' } as const;
  const ssim = windowedMap(x, y, resolveOptions(options), options, { graph: ssimMap(), kernels: 'ssim' }, 'planes');
  const per = reduce('sum', map(add(mul(a, a), mul(2, b)), { a: r, b: reduce('sum', map(mul(a, a), { a: reduce('planeSum', weighted) })) }));
  const loss = reduce('mean', map(div(add(a, b), add(1, mul(a, a))), { a: per, b: reduce('sum', ssim) }));
  const rand = random(c.seed);
  const fill = (n: number, lo = -1): Float64Array => Float64Array.from({ length: n }, () => lo + (1 - lo) * rand());
  const inputs: Record<string, Float64Array> = { x: fill(sizeOf(shape), 0), y: fill(sizeOf(shape), 0), mask: fill(c.N * c.H * c.W, 0) };
  const dir = (): Record<string, Float64Array> => Object.fromEntries(INPUTS.map((k) => [k, fill(inputs[k]!.length)]));
  return { loss, inputs, dir, ssim };
}

const value = (loss: FieldNode, inputs: Record<string, Float64Array>): number => evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS }).value[0]!;
const moved = (inputs: Record<string, Float64Array>, d: Record<string, Float64Array>, t: number): Record<string, Float64Array> =>
  Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.map((u, i) => u + t * (d[k]?.[i] ?? 0))]));
const inner = (u: Record<string, Float64Array>, v: Record<string, Float64Array>): number =>
  INPUTS.reduce((s, k) => s + (u[k] ?? new Float64Array()).reduce((t, w, i) => t + w * v[k]![i]!, 0), 0);
const maxAbs = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
};

describe('forward mode over the field graph', () => {
  it('the JVP agrees with five-point central differences of the value and with <grad, d>', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { loss, inputs, dir } = build(c);
        const d = dir();
        const j = forwardTangents(loss, inputs, d);
        const h = 1e-3;
        const f = (t: number): number => value(loss, moved(inputs, d, t));
        const cd = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h);
        const g = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: [...INPUTS] });
        const dot = inner(g.grads as Record<string, Float64Array>, d);
        const scale = INPUTS.reduce((s, k) => s + g.grads[k]!.reduce((t, w, i) => t + Math.abs(w * d[k]![i]!), 0), 0);
        expect(j.value[0]).toBeCloseTo(g.value[0]!, 12);
        expect(Math.abs(j.tangent[0]! - cd)).toBeLessThanOrEqual(1e-7 * scale + 1e-10);
        expect(Math.abs(j.tangent[0]! - dot)).toBeLessThanOrEqual(1e-12 * scale);
      }),
      { numRuns: 8 },
    );
  });

  it('a direction of x alone moves only what x reaches; an intermediate node returns its tangent', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { loss, inputs, dir, ssim } = build(c);
        const d = { x: dir().x! };
        const j = forwardTangents(loss, inputs, d, { at: [ssim] });
        const h = 1e-4;
        const at = (t: number): Float64Array => evaluateGraph(ssim, moved(inputs, d, t), { fused: false }).value;
        const [p, q] = [at(h), at(-h)];
        const t = j.tangents.get(ssim.id)!;
        expect(t.length).toBe(c.N * 3);
        t.forEach((v, i) => expect(Math.abs(v - (p[i]! - q[i]!) / (2 * h))).toBeLessThanOrEqual(1e-6 * maxAbs(t) + 1e-9));
        const g = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] });
        expect(Math.abs(j.tangent[0]! - inner({ x: g.grads.x! }, d))).toBeLessThanOrEqual(1e-12 * maxAbs(g.grads.x!) * d.x.length);
      }),
      { numRuns: 6 },
    );
  });
});

describe('second order: forward over reverse', () => {
  it('H v agrees with central differences of the gradient, and <H v, w> = <v, H w>', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { loss, inputs, dir } = build(c);
        const [v, w] = [dir(), dir()];
        const wrt = [...INPUTS];
        const hv = hessianVector(loss, inputs, v, { wrt });
        const hw = hessianVector(loss, inputs, w, { wrt });
        const grad = (t: number) => evaluateGraph(loss, moved(inputs, v, t), { kernels: BLOCK_KERNELS, wrt }).grads;
        const h = 1e-3;
        const [g1, g_1, g2, g_2] = [grad(h), grad(-h), grad(2 * h), grad(-2 * h)];
        const g0 = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt }).grads;
        for (const k of wrt) {
          const scale = maxAbs(hv.hvps[k]!);
          hv.hvps[k]!.forEach((u, i) => {
            const cd = (8 * (g1[k]![i]! - g_1[k]![i]!) - (g2[k]![i]! - g_2[k]![i]!)) / (12 * h);
            expect(Math.abs(u - cd), `${k}[${i}]`).toBeLessThanOrEqual(1e-6 * scale + 1e-10);
          });
          // the gradient second order carries is reverse mode's
          hv.grads[k]!.forEach((u, i) => expect(Math.abs(u - g0[k]![i]!)).toBeLessThanOrEqual(1e-13 * maxAbs(g0[k]!) + 1e-300));
        }
        const a = inner(hv.hvps as Record<string, Float64Array>, w);
        const b = inner(v, hw.hvps as Record<string, Float64Array>);
        expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-10 * (Math.abs(a) + Math.abs(b)) + 1e-13);
      }),
      { numRuns: 5 },
    );
  });
});

describe('forward mode and second order in the three arithmetics', () => {
  it('float32 arithmetic rounds every number it returns and stays near float64; float32 storage stores float32', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { loss, inputs, dir, ssim } = build(c);
        const d = dir();
        const wrt = [...INPUTS];
        const j64 = forwardTangents(loss, inputs, d, { at: [ssim] });
        const h64 = hessianVector(loss, inputs, d, { wrt });
        const g = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt });
        const scale = INPUTS.reduce((s, k) => s + g.grads[k]!.reduce((t, w, i) => t + Math.abs(w * d[k]![i]!), 0), 0);
        for (const arith of ['float32', 'float32-storage'] as const) {
          const j = forwardTangents(loss, inputs, d, { arith, at: [ssim] });
          const hv = hessianVector(loss, inputs, d, { wrt, arith });
          for (const u of [...j.tangent, ...j.tangents.get(ssim.id)!, ...wrt.flatMap((k) => [...hv.hvps[k]!, ...hv.grads[k]!])]) expect(Math.fround(u)).toBe(u);
          expect(Math.abs(j.tangent[0]! - j64.tangent[0]!)).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
          for (const k of wrt) {
            const err = maxAbs(hv.hvps[k]!.map((u, i) => u - h64.hvps[k]![i]!));
            expect(err, `${arith} ${k}`).toBeLessThanOrEqual(2e-3 * maxAbs(h64.hvps[k]!) + 1e-6);
          }
        }
        // float32 arithmetic is not float64 rounded at the end: it differs from float32 storage somewhere
        const a = hessianVector(loss, inputs, d, { wrt, arith: 'float32' }).hvps.x!;
        const b = hessianVector(loss, inputs, d, { wrt, arith: 'float32-storage' }).hvps.x!;
        expect(a.some((u, i) => u !== b[i])).toBe(true);
      }),
      { numRuns: 3 },
    );
  });
});
