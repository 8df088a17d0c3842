/**
 * The GPU pass programs (src/emit/gpu-program.ts) run by the kernel program's interpreter against
 * the float64 CPU kernels (src/generated) and the runtime (evaluateVariant for the 3DGS loss): every
 * family, every boundary rule, odd windows (square and not), both schedules, value, d/dx and d/dy.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelParams } from '../../src/emit/params.js';
import { GPU_FAMILIES, gpuArguments, gpuPrograms, RUNTIME_RULE, type GpuFamily, type GpuPrograms } from '../../src/emit/gpu-program.js';
import { BOUNDARIES, type Boundary } from '../../src/field/boundary.js';
import { float64Kernels } from '../../src/generated/index.js';
import { FLOAT64, interpretProgram, type Binding } from '../../src/kernel/interpret.js';
import { mapSize } from '../../src/model/geometry.js';
import { planKernel } from '../../src/runtime/fast.js';
import { evaluateVariant } from '../../src/runtime/variants.js';

const SCHEDULES = ['store', 'recompute'] as const;
type Partials = (typeof SCHEDULES)[number];

const cache = new Map<string, GpuPrograms>();
function programs(family: GpuFamily, boundary: Boundary, partials: Partials, gradY: boolean): GpuPrograms {
  const key = `${family}/${boundary}/${partials}/${gradY}`;
  let p = cache.get(key);
  if (p === undefined) cache.set(key, (p = gpuPrograms(family, { boundary, gradY, schedule: { partials } })));
  return p;
}

/** Forward then backward: value, plane sums, d/dx (and d/dy). */
function runGpu(family: GpuFamily, partials: Partials, x: Float64Array | Float32Array, y: Float64Array | Float32Array, p: KernelParams, gradY: boolean, binding: Binding = FLOAT64, lambda?: number) {
  const progs = programs(family, p.padding, partials, gradY);
  const args = gpuArguments(family, p, { lambda });
  const n = x.length;
  const NC = p.N * p.C;
  const { MH, MW } = mapSize(p.padding, p.H, p.W, p.tapsH.length, p.tapsW.length);
  const store32 = binding.real === 'float32';
  const value = new Float64Array(1), planeSums = new Float64Array(NC);
  const kept: Record<string, Float64Array> = Object.fromEntries(progs.kept.map((k) => [k, new Float64Array(NC * MH * MW)]));
  interpretProgram(progs.forward, progs.funcs, { ...args, x, y, value, planeSums, ...kept }, binding);
  const gradX = store32 ? new Float32Array(n) : new Float64Array(n);
  const gY = gradY ? (store32 ? new Float32Array(n) : new Float64Array(n)) : undefined;
  interpretProgram(progs.backward, progs.funcs, { ...args, x, y, ...kept, gradX, ...(gY ? { gradY: gY } : {}) }, binding);
  return { value: value[0]!, planeSums, gradX, gradY: gY };
}

/** The float64 CPU kernels' answer; the 3DGS loss composed from SSIM's kernel and the L1 term. */
function runCpu(family: GpuFamily, x: Float64Array, y: Float64Array, p: KernelParams, lambda = 0.2) {
  const k = float64Kernels[family === 'gs-loss' ? 'ssim' : family]![p.padding].generic!;
  const n = x.length;
  const gradX = new Float64Array(n), gradY = new Float64Array(n);
  const planeSums = new Float64Array(p.N * p.C);
  const v = k.grad(x, y, { ...p, planeSums }, { gradX, gradY });
  if (family !== 'gs-loss') return { value: v, planeSums, gradX, gradY };
  let l1 = 0;
  for (let i = 0; i < n; i++) l1 += Math.abs(x[i]! - y[i]!);
  for (let i = 0; i < n; i++) {
    const sg = Math.sign(x[i]! - y[i]!) * (1 - lambda) / n;
    gradX[i] = sg - lambda * gradX[i]!;
    gradY[i] = -sg - lambda * gradY[i]!;
  }
  return { value: (1 - lambda) * (l1 / n) + lambda * (1 - v), planeSums, gradX, gradY };
}

/** Max relative error of a against b, relative to b's largest magnitude. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0, e = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return m === 0 ? e : e / m;
}

/** Normalised symmetric taps with k entries. */
function symmetricTaps(k: number, rnd: () => number): Float64Array {
  const t = new Float64Array(k);
  for (let i = 0; i <= (k - 1) / 2; i++) t[i] = t[k - 1 - i] = 0.2 + rnd();
  const s = t.reduce((a, b) => a + b, 0);
  return t.map((v) => v / s);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Case {
  x: Float64Array;
  y: Float64Array;
  p: KernelParams;
}

function makeCase(family: GpuFamily, b: Boundary, kh: number, kw: number, N: number, C: number, H: number, W: number, seed: number): Case {
  const rnd = lcg(seed);
  const n = N * C * H * W;
  const x = Float64Array.from({ length: n }, () => rnd());
  const y = Float64Array.from(x, (v) => Math.min(1, Math.max(0, v + 0.4 * (rnd() - 0.5))));
  // an exact tie: |x - y| has derivative 0 there
  y[0] = x[0]!;
  const { MH, MW } = mapSize(b, H, W, kh, kw);
  const crop = Math.min(1, (Math.min(MH, MW) - 1) >> 1) * (seed % 2);
  const count = N * C * (MH - 2 * crop) * (MW - 2 * crop);
  const p: KernelParams = {
    N, C, H, W, padding: b, tapsH: symmetricTaps(kh, rnd), tapsW: symmetricTaps(kw, rnd), C1: 1e-4, C2: 9e-4, c_n: seed % 3 === 0 ? 1.02 : 1, crop, omega: 1 / count,
    ...(family === 'cs' ? { planeOmega: Float64Array.from({ length: N * C }, () => (0.5 + rnd()) / count) } : {}),
    ...(family === 'wang' ? { alpha: 0.5 + rnd(), beta: 0.5 + 2 * rnd(), gamma: 1 + Math.floor(2 * rnd()) } : {}),
  };
  return { x, y, p };
}

const WINDOWS: ReadonlyArray<readonly [number, number]> = [[3, 3], [7, 7], [11, 11], [5, 3]];
const worst: Record<string, number> = {};

describe('GPU pass programs against the float64 CPU kernels', () => {
  for (const family of GPU_FAMILIES) {
    for (const b of BOUNDARIES) {
      it(`${family} under '${b}': value, plane sums, d/dx, d/dy; windows 3, 7, 11, 5 x 3; both schedules`, () => {
        for (const [kh, kw] of WINDOWS) {
          for (const partials of SCHEDULES) {
            fc.assert(
              fc.property(
                fc.record({ N: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 0, max: 5 }), W: fc.integer({ min: 0, max: 5 }), seed: fc.nat(1 << 20), gradY: fc.boolean() }),
                ({ N, H, W, seed, gradY }) => {
                  const c = makeCase(family, b, kh, kw, N, 1, kh + 1 + H, kw + 2 + W, seed);
                  const want = runCpu(family, c.x, c.y, c.p);
                  const got = runGpu(family, partials, c.x, c.y, c.p, gradY);
                  const e = Math.max(
                    Math.abs(got.value - want.value) / Math.abs(want.value),
                    family === 'gs-loss' ? 0 : relErr(got.planeSums, want.planeSums),
                    relErr(got.gradX, want.gradX),
                    gradY ? relErr(got.gradY!, want.gradY) : 0,
                  );
                  worst[family] = Math.max(worst[family] ?? 0, e);
                  expect(e, `${kh}x${kw} ${N}x${c.p.H}x${c.p.W} ${partials} gradY=${gradY}`).toBeLessThan(1e-12);
                },
              ),
              { numRuns: 2 },
            );
          }
        }
      });
    }
  }
  it('reports the largest relative error per family', () => {
    console.log('GPU programs vs CPU float64, max relative error:', worst);
  });
});

describe('the fixed sizes of the brief', () => {
  for (const family of GPU_FAMILIES) {
    it(`${family}: 2 planes of 9 x 13 and 12 x 10, every rule, windows 3, 7 (both schedules, d/dy)`, () => {
      for (const [H, W] of [[9, 13], [12, 10]] as const) {
        for (const b of BOUNDARIES) {
          for (const k of [3, 7]) {
            for (const partials of SCHEDULES) {
              const c = makeCase(family, b, k, k, 2, 1, H, W, 7 + H + k);
              const want = runCpu(family, c.x, c.y, c.p);
              const got = runGpu(family, partials, c.x, c.y, c.p, true);
              expect(Math.abs(got.value - want.value) / Math.abs(want.value)).toBeLessThan(1e-12);
              expect(relErr(got.gradX, want.gradX)).toBeLessThan(1e-12);
              expect(relErr(got.gradY!, want.gradY)).toBeLessThan(1e-12);
            }
          }
        }
      }
    });
  }
});

describe('the 3DGS loss as the runtime evaluates it', () => {
  // evaluateVariant runs the variant's field graph: L1's mean over all N C H W pixels, SSIM's over the cropped map
  for (const b of BOUNDARIES) {
    it(`'${b}': value and both gradients equal evaluateVariant's (pytorch-ssim's window, sizes 7 and 11, crop 0 and 2)`, () => {
      for (const [size, crop, lambda] of [[11, 0, 0.2], [7, 2, 0.35]] as const) {
        const rnd = lcg(size + crop);
        const shape = [1, 2, 14, 15];
        const n = shape.reduce((a, c) => a * c, 1);
        const xs = Float64Array.from({ length: n }, () => rnd());
        const ys = Float64Array.from(xs, (v) => Math.min(1, Math.max(0, v + 0.3 * (rnd() - 0.5))));
        const options = { preset: 'pytorch-ssim' as const, padding: b, size, crop };
        const want = evaluateVariant({ shape, data: xs }, { shape, data: ys }, { ...options, variant: '3dgs-loss', lambda });
        const { params } = planKernel({ shape, data: xs }, { shape, data: ys }, options);
        for (const partials of SCHEDULES) {
          const got = runGpu('gs-loss', partials, xs, ys, params, true, FLOAT64, lambda);
          expect(Math.abs(got.value - want.value) / want.value).toBeLessThan(1e-12);
          expect(relErr(got.gradX, want.gradX)).toBeLessThan(1e-12);
          expect(relErr(got.gradY!, want.gradY)).toBeLessThan(1e-12);
        }
      }
    });
  }
});

describe('precision: the same programs under a float32 binding', () => {
  const F32: Binding = { real: 'float32', acc: 'float32', f64: 'float32' };
  const worst32: Record<string, number> = {};
  afterAll(() => console.log('GPU programs, float32 binding vs float64, max relative error:', worst32));
  for (const family of GPU_FAMILIES) {
    it(`${family}: float32 storage and arithmetic stay within 1e-4 of float64 (relative to the largest gradient)`, () => {
      for (const b of ['same', 'mirror'] as const) {
        const c = makeCase(family, b, 7, 5, 1, 2, 12, 10, 11);
        const x32 = Float32Array.from(c.x), y32 = Float32Array.from(c.y);
        // the float64 run on the float32-rounded images: what the float32 run approximates
        const x64 = Float64Array.from(x32), y64 = Float64Array.from(y32);
        const a = runGpu(family, 'recompute', x32, y32, c.p, true, F32);
        const r = runGpu(family, 'recompute', x64, y64, c.p, true);
        expect(a.gradX).toBeInstanceOf(Float32Array);
        expect(Math.abs(a.value - r.value) / Math.abs(r.value)).toBeLessThan(1e-4);
        expect(relErr(a.gradX, r.gradX)).toBeLessThan(1e-4);
        expect(relErr(a.gradY!, r.gradY!)).toBeLessThan(1e-4);
        worst32[family] = Math.max(worst32[family] ?? 0, relErr(a.gradX, r.gradX), relErr(a.gradY!, r.gradY!), Math.abs(a.value - r.value) / Math.abs(r.value));
        // and it did round: not float64's bits
        expect(a.value).not.toBe(r.value);
      }
    });
  }
});

describe('the schedule: what the forward keeps for the backward', () => {
  /** The image-sized buffers (their size reads H or MH) the forward writes as outputs. */
  const imageSizedOutputs = (p: GpuPrograms): string[] =>
    p.forward.buffers.filter((x) => x.role === 'output' && /"name":"M?[HW]"/.test(JSON.stringify(x.size))).map((x) => x.name);
  for (const family of GPU_FAMILIES) {
    it(`${family}: recompute keeps no image-sized map; store keeps 3 for d/dx, 5 with d/dy`, () => {
      for (const b of BOUNDARIES) {
        expect(imageSizedOutputs(programs(family, b, 'recompute', true))).toEqual([]);
        expect(programs(family, b, 'recompute', true).kept).toEqual([]);
        expect(imageSizedOutputs(programs(family, b, 'store', false))).toEqual(['g_mu_x', 'g_xx', 'g_xy']);
        expect(imageSizedOutputs(programs(family, b, 'store', true))).toEqual(['g_mu_x', 'g_xx', 'g_xy', 'g_mu_y', 'g_yy']);
        // the forward's other outputs are the value and one sum per plane
        const outs = programs(family, b, 'recompute', true).forward.buffers.filter((x) => x.role === 'output').map((x) => x.name);
        expect(outs).toEqual(['value', 'planeSums']);
        // and the backward reads the stored maps as inputs, or recomputes them into scratch
        const roles = (p: GpuPrograms) => Object.fromEntries(p.backward.buffers.filter((x) => x.name.startsWith('g_')).map((x) => [x.name, x.role]));
        expect(Object.values(roles(programs(family, b, 'store', true)))).toEqual(Array(5).fill('input'));
        expect(Object.values(roles(programs(family, b, 'recompute', true)))).toEqual(Array(5).fill('scratch'));
      }
    });
  }
  it('every pass is a grid over buffers: no alloc, copy or fill inside a pass', () => {
    const banned = /"k":"(alloc|copy|fill)"/;
    for (const family of GPU_FAMILIES) {
      for (const partials of SCHEDULES) {
        const p = programs(family, 'reflect', partials, true);
        for (const pass of [...p.forward.passes, ...p.backward.passes]) expect(JSON.stringify(pass.body)).not.toMatch(banned);
      }
    }
  });
});

describe("the rule as a runtime scalar (RUNTIME_RULE: the programs of ssim_grad.cuh)", () => {
  for (const family of GPU_FAMILIES) {
    it(`${family}: one program per schedule runs every rule as the fixed-rule programs do, bit for bit (windows 5 and 5 x 3)`, () => {
      for (const partials of SCHEDULES) {
        const any = gpuPrograms(family, { boundary: RUNTIME_RULE, gradY: true, schedule: { partials } });
        expect(any.forward.scalars[0]).toMatchObject({ name: 'rule', type: 'rule' });
        BOUNDARIES.forEach((b, rule) => {
          for (const [kh, kw] of [[5, 5], [5, 3]] as const) {
            const c = makeCase(family, b, kh, kw, 1, 2, 9, 8, 3 + rule + kh + kw);
            const want = runGpu(family, partials, c.x, c.y, c.p, true);
            const args = { ...gpuArguments(family, c.p), rule };
            const { MH, MW } = mapSize(b, c.p.H, c.p.W, kh, kw);
            const value = new Float64Array(1), planeSums = new Float64Array(2);
            const kept = Object.fromEntries(any.kept.map((k) => [k, new Float64Array(2 * MH * MW)]));
            interpretProgram(any.forward, any.funcs, { ...args, x: c.x, y: c.y, value, planeSums, ...kept });
            const gradX = new Float64Array(c.x.length), gradY = new Float64Array(c.x.length);
            interpretProgram(any.backward, any.funcs, { ...args, x: c.x, y: c.y, ...kept, gradX, gradY });
            const what = `${b} ${partials} ${kh}x${kw}`;
            expect(value[0], what).toBe(want.value);
            expect(Array.from(gradX), what).toEqual(Array.from(want.gradX));
            expect(Array.from(gradY), what).toEqual(Array.from(want.gradY!));
          }
        });
      }
    });
  }
});
