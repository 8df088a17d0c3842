/**
 * The field graph (src/graph): every kind of the linear table passes the dot-product test, the one
 * reverse mode agrees with central differences on random graphs built from every node kind, the
 * blocks on their kernels equal their fine graphs, float32 arithmetic rounds every value it makes,
 * and each rewrite of the adjoint program changes exactly the rule it names.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, div, mul, sub, variable } from '../../src/expr/index.js';
import { BOUNDARIES, dot, gaussianTaps, norm2, sizeOf, type Shape4 } from '../../src/field/index.js';
import { binary, input, linear, map, reduce } from '../../src/graph/build.js';
import { rewriteProgram, type ProgramRewrite } from '../../src/graph/adjoint.js';
import { evaluateGraph, programFor } from '../../src/graph/evaluate.js';
import { BLOCK_KERNELS } from '../../src/runtime/blocks.js';
import { LINEAR_RULES, linearOp, type LinearSpec } from '../../src/graph/linear.js';
import type { FieldNode } from '../../src/graph/node.js';
import { windowedMap } from '../../src/graph/ssim.js';
import { csMap, ssimMap } from '../../src/model/maps.js';
import { resolveOptions } from '../../src/model/options.js';
import { wangMap } from '../../src/variants/wang.js';
import { uniform } from '../support/uniform.js';

const vector = (n: number): fc.Arbitrary<Float64Array> => fc.array(uniform(-1, 1), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));

/** One case per kind of the table at least; the test below fails when a kind has none. */
const SPECS: ReadonlyArray<{ spec: LinearSpec; minSide: number; channels?: number }> = [
  ...BOUNDARIES.map((boundary) => ({ spec: { kind: 'window', taps: gaussianTaps(5, 1.2), boundary, skipShortAxes: false } as const, minSide: 5 })),
  { spec: { kind: 'window', taps: gaussianTaps(7, 1.5), boundary: 'valid', skipShortAxes: true }, minSide: 2 },
  { spec: { kind: 'crop', top: 1, bottom: 2, left: 0, right: 1 }, minSide: 4 },
  { spec: { kind: 'pool', mode: 'zero' }, minSide: 2 },
  { spec: { kind: 'pool', mode: 'symmetric' }, minSide: 2 },
  { spec: { kind: 'downsample', f: 2 }, minSide: 2 },
  { spec: { kind: 'downsample', f: 3 }, minSide: 3 },
  { spec: { kind: 'channels', matrix: [[0.2126, 0.7152, 0.0722]] }, minSide: 1, channels: 3 },
  { spec: { kind: 'channels', matrix: [[1, -2], [0.5, 3], [0, 1]] }, minSide: 1, channels: 2 },
];

describe('the linear table: <A a, b> = <a, A^T b> for every kind, in both arithmetics', () => {
  it('has a case for every kind of LINEAR_RULES', () => {
    for (const kind of Object.keys(LINEAR_RULES)) expect(SPECS.some((s) => s.spec.kind === kind), kind).toBe(true);
  });
  it.each(SPECS.map((s) => [`${s.spec.kind} ${JSON.stringify({ ...s.spec, taps: undefined })}`, s] as const))('%s', (_, s) => {
    const shape = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: s.minSide, max: 13 }), fc.integer({ min: s.minSide, max: 13 }));
    fc.assert(
      fc.property(
        shape.chain(([N, C, H, W]) => {
          const sh: Shape4 = [N, s.channels ?? C, H, W];
          const op = linearOp(s.spec, sh);
          return fc.tuple(fc.constant(op), vector(sizeOf(sh)), vector(sizeOf(op.outShape)));
        }),
        ([op, a, b]) => {
          const Aa = op.apply(a);
          const Atb = op.transpose(b);
          const scale = Math.max(norm2(Aa) * norm2(b), norm2(a) * norm2(Atb), 1e-300);
          expect(Math.abs(dot(Aa, b) - dot(a, Atb))).toBeLessThanOrEqual(1e-12 * scale);
          // float32 arithmetic: the same operator, every value a float32, within float32 rounding of float64
          const a32 = a.map(Math.fround);
          const b32 = b.map(Math.fround);
          const A32 = op.apply(a32, 'float32');
          for (const v of A32) expect(Math.fround(v)).toBe(v);
          const d = A32.map((v, i) => v - Aa[i]!);
          expect(norm2(d)).toBeLessThanOrEqual(1e-5 * (norm2(Aa) + 1e-30) + 1e-30);
          const T32 = op.transpose(b32, 'float32');
          for (const v of T32) expect(Math.fround(v)).toBe(v);
        },
      ),
      { numRuns: 25 },
    );
  });
});

/** Central differences of a scalar graph with respect to input `name` at a few flat indices. */
function centralDifferences(out: FieldNode, inputs: Record<string, Float64Array>, name: string, at: readonly number[], h = 1e-6): number[] {
  return at.map((q) => {
    const v = inputs[name]!;
    const plus = Float64Array.from(v);
    const minus = Float64Array.from(v);
    plus[q] = plus[q]! + h;
    minus[q] = minus[q]! - h;
    const f = (w: Float64Array): number => evaluateGraph(out, { ...inputs, [name]: w }, { fused: false }).value[0]!;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** A random graph over x, y (N x 3 x H x W) and a mask (N x 1 x H x W) using every node kind. */
const graphs = fc.record({
  N: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 8, max: 14 }),
  W: fc.integer({ min: 8, max: 14 }),
  boundary: fc.constantFrom(...BOUNDARIES),
  pool: fc.constantFrom('zero' as const, 'symmetric' as const),
  mix: fc.array(uniform(-1, 1), { minLength: 3, maxLength: 3 }),
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'planeMean' as const, 'planeSum' as const),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

type GraphCase = typeof graphs extends fc.Arbitrary<infer T> ? T : never;

function build(g: GraphCase) {
  const shape: Shape4 = [g.N, 3, g.H, g.W];
  const x = input('x', shape);
  const y = input('y', shape);
  const m = input('mask', [g.N, 1, g.H, g.W]);
  const taps = gaussianTaps(5, 1);
  const W = (a: FieldNode): FieldNode => linear({ kind: 'window', taps, boundary: g.boundary, skipShortAxes: false }, a);
  // luma of x, windowed, times the mask (broadcast over channels), against pooled y
  const lx = W(linear({ kind: 'channels', matrix: [g.mix] }, x));
  // under 'valid' the window's output is smaller: the mask is cropped to it
  const mw = g.boundary === 'valid' ? linear({ kind: 'crop', top: 2, bottom: 2, left: 2, right: 2 }, m) : m;
  const prod = binary((a, b) => mul(a, b, a), lx, mw);
  const py = linear({ kind: 'pool', mode: g.pool }, binary((a, b) => div(a, add(1, mul(b, b))), y, x));
  const [a, b] = [variable('a'), variable('b')];
  const r = reduce(g.reduction, map(sub(mul(a, a, 0.5), mul(3, a)), { a: py }));
  const per = reduce('sum', binary((u, v) => add(mul(u, u), v), r, reduce('planeMean', prod)));
  const loss = reduce('mean', map(div(a, add(1, mul(b, b))), { a: per, b: reduce('mean', lx) }));
  const rand = mulberry(g.seed);
  const fill = (n: number, lo = -1) => Float64Array.from({ length: n }, () => lo + (1 - lo) * rand());
  const inputs = { x: fill(sizeOf(shape)), y: fill(sizeOf(shape)), mask: fill(g.N * g.H * g.W, 0) };
  return { loss, inputs, size: sizeOf(shape) };
}

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('reverse mode against central differences on random graphs of every node kind', () => {
  it('d loss / d x, d y and d mask agree to 1e-6 relative at random pixels', () => {
    fc.assert(
      fc.property(graphs, (g) => {
        const { loss, inputs, size } = build(g);
        const r = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x', 'y', 'mask'] });
        for (const name of ['x', 'y', 'mask'] as const) {
          const n = name === 'mask' ? inputs.mask.length : size;
          const at = [0, n - 1, Math.floor(n / 2), (g.seed * 7) % n];
          const cd = centralDifferences(loss, inputs, name, at);
          const grad = r.grads[name]!;
          const scale = Math.max(...Array.from(grad, Math.abs), 1e-12);
          // central differences of f carry rounding of about eps |f| / h = 2e-10 |f| besides h^2 f'''
          const noise = 2e-9 * Math.max(1, Math.abs(r.value[0]!));
          at.forEach((q, k) => expect(Math.abs(grad[q]! - cd[k]!), `${name}[${q}]`).toBeLessThanOrEqual(1e-6 * scale + noise));
        }
      }),
      { numRuns: 12 },
    );
  });

  it('float32 arithmetic rounds every value and adjoint it makes; float32 storage stores float32 gradients', () => {
    fc.assert(
      fc.property(graphs, (g) => {
        const { loss, inputs } = build(g);
        const r32 = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'], arith: 'float32', record: true });
        for (const v of r32.values.values()) for (const u of v) expect(Math.fround(u)).toBe(u);
        for (const v of r32.adjoints.values()) for (const u of v) expect(Math.fround(u)).toBe(u);
        const r64 = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] });
        const d = r32.grads.x!.map((v, i) => v - r64.grads.x![i]!);
        expect(norm2(d)).toBeLessThanOrEqual(1e-4 * norm2(r64.grads.x!) + 1e-20);
        const rs = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'], arith: 'float32-storage' });
        for (const u of rs.grads.x!) expect(Math.fround(u)).toBe(u);
      }),
      { numRuns: 6 },
    );
  });
});

describe('blocks: the kernels equal the fine graph', () => {
  const rand = mulberry(11);
  const shape: Shape4 = [2, 2, 23, 19];
  const xs = Float64Array.from({ length: sizeOf(shape) }, () => rand());
  const ys = xs.map((v) => v + 0.3 * (rand() - 0.5));
  const families = [
    ['ssim', ssimMap(), {}],
    ['cs', csMap(), {}],
    ['wang', wangMap(1.5, 0.5, 2), { alpha: 1.5, beta: 0.5, gamma: 2 }],
  ] as const;
  it.each(BOUNDARIES.flatMap((b) => families.map(([name, graph, params]) => [b, name, graph, params] as const)))('%s, %s', (boundary, name, graph, params) => {
    const options = { padding: boundary, preset: 'pytorch-ssim' as const, dataRange: 1 };
    const config = resolveOptions(options);
    for (const reduceTo of ['loss', 'planes'] as const) {
      const blk = windowedMap(input('x', shape), input('y', shape), config, options, { graph, kernels: name, kernelParams: params }, reduceTo);
      const out = reduceTo === 'loss' ? blk : reduce('sum', binary((a, b) => mul(a, b), blk, input('w', [2, 2, 1, 1])));
      const inputs = { x: xs, y: ys, w: Float64Array.of(0.3, -1, 2, 0.5) };
      const fused = evaluateGraph(out, inputs, { kernels: BLOCK_KERNELS, wrt: ['x', 'y'] });
      const fine = evaluateGraph(out, inputs, { wrt: ['x', 'y'], fused: false });
      expect(Math.abs(fused.value[0]! - fine.value[0]!)).toBeLessThanOrEqual(1e-13 * Math.abs(fine.value[0]!));
      for (const k of ['x', 'y']) {
        const d = fused.grads[k]!.map((v, i) => v - fine.grads[k]![i]!);
        expect(norm2(d), `${reduceTo} d/d${k}`).toBeLessThanOrEqual(1e-12 * norm2(fine.grads[k]!));
      }
    }
  });
});

describe('a block whose map has no kernels runs its fine graph, fused or not', () => {
  it('gives the same value and gradient as the same map on its kernels', () => {
    const rand = mulberry(17);
    const shape: Shape4 = [1, 2, 16, 15];
    const inputs = { x: Float64Array.from({ length: sizeOf(shape) }, () => rand()), y: Float64Array.from({ length: sizeOf(shape) }, () => rand()) };
    const options = { preset: 'skimage' as const, dataRange: 1 };
    const config = resolveOptions(options);
    const blk = (kernels: string | null) => windowedMap(input('x', shape), input('y', shape), config, options, { graph: csMap(), kernels }, 'loss');
    const own = evaluateGraph(blk(null), inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] });
    const kernels = evaluateGraph(blk('cs'), inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] });
    expect(Math.abs(own.value[0]! - kernels.value[0]!)).toBeLessThanOrEqual(1e-14);
    expect(norm2(own.grads.x!.map((v, i) => v - kernels.grads.x![i]!))).toBeLessThanOrEqual(1e-12 * norm2(kernels.grads.x!));
  });
});

describe('float32 arithmetic on a block: the emulated float32 kernel and the fine graph round alike', () => {
  it('both are within float32 rounding of float64, at a distance of the same order, and every value is a float32', () => {
    const rand = mulberry(23);
    const shape: Shape4 = [1, 3, 40, 37];
    const inputs = { x: Float64Array.from({ length: sizeOf(shape) }, () => rand()), y: Float64Array.from({ length: sizeOf(shape) }, () => rand()) };
    const options = { preset: 'pytorch-ssim' as const };
    const blk = windowedMap(input('x', shape), input('y', shape), resolveOptions(options), options, { graph: ssimMap(), kernels: 'ssim' }, 'loss');
    const loss = map(sub(1, mul(0.5, variable('s'))), { s: blk });
    const g64 = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] }).grads.x!;
    const kernel = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'], arith: 'float32' }).grads.x!;
    const fine = evaluateGraph(loss, inputs, { wrt: ['x'], arith: 'float32', fused: false }).grads.x!;
    for (const g of [kernel, fine]) for (const v of g) expect(Math.fround(v)).toBe(v);
    const d = (a: Float64Array): number => norm2(a.map((v, i) => v - g64[i]!)) / norm2(g64);
    expect(d(kernel)).toBeGreaterThan(1e-9);
    expect(d(kernel)).toBeLessThan(1e-5);
    expect(d(fine)).toBeGreaterThan(1e-9);
    expect(d(fine)).toBeLessThan(1e-5);
    expect(Math.max(d(kernel), d(fine)) / Math.min(d(kernel), d(fine))).toBeLessThan(20);
  });
});

describe("a map's variables may take any name", () => {
  it("an argument called bar_ (the adjoint's usual name) gets the same gradient as one called a", () => {
    const shape: Shape4 = [1, 1, 5, 6];
    const rand = mulberry(31);
    const inputs = { x: Float64Array.from({ length: 30 }, () => rand()), y: Float64Array.from({ length: 30 }, () => rand()) };
    const loss = (name: string) => {
      const [u, b] = [variable(name), variable('b')];
      return reduce('mean', map(mul(sub(u, b), sub(u, b)), { [name]: input('x', shape), b: input('y', shape) }));
    };
    const a = evaluateGraph(loss('a'), inputs, { kernels: BLOCK_KERNELS, wrt: ['x', 'y'] });
    const bar = evaluateGraph(loss('bar_'), inputs, { kernels: BLOCK_KERNELS, wrt: ['x', 'y'] });
    expect(bar.value[0]).toBe(a.value[0]);
    expect(Array.from(bar.grads.x!)).toEqual(Array.from(a.grads.x!));
    expect(Array.from(bar.grads.y!)).toEqual(Array.from(a.grads.y!));
  });
});

describe('rewrites of the adjoint program change the rule they name', () => {
  const rand = mulberry(5);
  const shape: Shape4 = [1, 1, 12, 12];
  const x = input('x', shape);
  const W = linear({ kind: 'window', taps: gaussianTaps(5, 1), boundary: 'mirror', skipShortAxes: false }, x, 'W');
  const loss = reduce('mean', map(mul(variable('a'), variable('a')), { a: W }));
  const inputs = { x: Float64Array.from({ length: 144 }, () => rand()) };
  const exact = evaluateGraph(loss, inputs, { kernels: BLOCK_KERNELS, wrt: ['x'] }).grads.x!;
  const program = programFor(loss, { wrt: ['x'] });
  const rewritten = (r: ProgramRewrite): Float64Array => evaluateGraph(loss, inputs, { program: rewriteProgram(program, r) }).grads.x!;
  it('the program: a reduce, a map and a linear step, from the output back, each by its kind\'s rule', () => {
    expect(program.steps.map((s) => s.rule.kind)).toEqual(['count', 'partial', 'transpose']);
    expect(program.steps.map((s) => s.from.kind)).toEqual(['reduce', 'map', 'linear']);
    expect(program.seed).toBe(1);
  });
  it('seed: the gradient scales by it', () => {
    const g = rewritten({ seed: -2 });
    g.forEach((v, i) => expect(v).toBeCloseTo(-2 * exact[i]!, 14));
  });
  it('transpose: the forward used as the adjoint differs under mirror padding, and only near the edges', () => {
    const g = rewritten({ steps: [{ match: (s) => s.rule.kind === 'transpose', replace: (s) => ({ kind: 'forward', spec: W.spec, op: (s.from as typeof W).op }) }] });
    expect(norm2(g.map((v, i) => v - exact[i]!))).toBeGreaterThan(1e-6 * norm2(exact));
    expect(g[6 * 12 + 6]).toBeCloseTo(exact[6 * 12 + 6]!, 14);
  });
  it('count: a mean divided by 1 instead of its count scales the gradient by the count', () => {
    const g = rewritten({ steps: [{ match: (s) => s.rule.kind === 'count', replace: () => ({ kind: 'count', how: 'mean', count: 1 }) }] });
    g.forEach((v, i) => expect(v / 144).toBeCloseTo(exact[i]!, 14));
  });
  it('partial: d(a^2)/da = a instead of 2a halves the gradient', () => {
    const g = rewritten({ steps: [{ match: (s) => s.rule.kind === 'partial', replace: (s) => ({ kind: 'partial', variable: s.via, partial: variable('a') }) }] });
    g.forEach((v, i) => expect(2 * v).toBeCloseTo(exact[i]!, 14));
  });
  it('drop: an edge left out gives zero', () => {
    const g = rewritten({ steps: [{ match: (s) => s.from.kind === 'linear', replace: () => null }] });
    expect(norm2(g)).toBe(0);
  });
});
