/**
 * The GPU pass programs of every family printed as CUDA (src/kernel/print-cuda.ts), compiled by
 * g++ on the tests' CPU emulation of CUDA (one module, every family, boundary rule and schedule):
 * in double they equal the interpreter's float64 run of the same programs (to 1e-13: only libm's
 * last bits may differ), so the programs' agreement with the CPU kernels and the runtime
 * (test/emit/gpu-program.test.ts) holds for the printed CUDA too; windows 3, 7, 11 and 15, value,
 * d/dx and d/dy, the stored schedule's backward fed the forward's printed maps.
 */
import { describe, expect, it } from 'vitest';
import { GPU_FAMILIES, gpuArguments, gpuPrograms, type GpuPrograms } from '../../src/emit/gpu-program.js';
import type { KernelParams } from '../../src/emit/params.js';
import { BOUNDARIES } from '../../src/field/boundary.js';
import { gaussianTaps } from '../../src/field/window.js';
import { interpretProgram } from '../../src/kernel/interpret.js';
import type { PassProgram } from '../../src/kernel/ir.js';
import { mapSize } from '../../src/model/geometry.js';
import { runCudaProgramOnCpu, type CudaCase } from '../support/cuda-program.js';

const SCHEDULES = ['store', 'recompute'] as const;

function numbers(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = s / 2147483648;
  }
  return a;
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0, e = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return m === 0 ? e : e / m;
};

describe('GPU programs printed as CUDA = the interpreted programs', () => {
  it('every family, boundary rule and schedule; windows 3, 7, 11, 15; value, d/dx, d/dy', () => {
    const all: Array<{ family: (typeof GPU_FAMILIES)[number]; boundary: (typeof BOUNDARIES)[number]; schedule: (typeof SCHEDULES)[number]; progs: GpuPrograms }> = [];
    for (const family of GPU_FAMILIES) for (const boundary of BOUNDARIES) for (const schedule of SCHEDULES) all.push({ family, boundary, schedule, progs: gpuPrograms(family, { boundary, gradY: true, schedule: { partials: schedule } }) });
    const programs: PassProgram[] = all.flatMap((a) => [a.progs.forward, a.progs.backward]);
    const funcs = all.flatMap((a) => a.progs.funcs);
    const [N, C, H, W] = [1, 2, 17, 19];
    const n = N * C * H * W;
    const x = numbers(n, 5), y = Float64Array.from(numbers(n, 6), (v, i) => (i % 9 === 0 ? x[i]! : 0.7 * x[i]! + 0.3 * v));
    const runs = all.flatMap((a, m) =>
      [3, 7, 11, 15].map((k) => {
        const taps = Float64Array.from(gaussianTaps(k, 1.5));
        const p: KernelParams = { N, C, H, W, padding: a.boundary, tapsH: taps, tapsW: taps, C1: 1e-4, C2: 9e-4, c_n: 1, crop: 1, omega: 1 / 500, alpha: 1.2, beta: 0.8, gamma: 1.1 };
        const args = gpuArguments(a.family, p, { lambda: 0.3 });
        const { MH, MW } = mapSize(a.boundary, H, W, k, k);
        const scalars = Object.fromEntries(Object.entries(args).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
        const small = Object.fromEntries(Object.entries(args).filter(([, v]) => typeof v !== 'number')) as Record<string, Float64Array>;
        // the interpreter's run: forward, then backward (fed the stored maps)
        const value = new Float64Array(1), planeSums = new Float64Array(N * C);
        const kept = Object.fromEntries(a.progs.kept.map((g) => [g, new Float64Array(N * C * MH * MW)]));
        interpretProgram(a.progs.forward, a.progs.funcs, { ...args, x, y, value, planeSums, ...kept });
        const gradX = new Float64Array(n), gradY = new Float64Array(n);
        interpretProgram(a.progs.backward, a.progs.funcs, { ...args, x, y, ...kept, gradX, gradY });
        return { m, a, k, scalars, small, want: { value, planeSums, gradX, gradY, kept } };
      }),
    );
    const forward: CudaCase[] = runs.map((r) => ({ program: 2 * r.m, scalars: r.scalars, inputs: { ...r.small, x, y } }));
    const fwd = runCudaProgramOnCpu(programs, funcs, forward);
    const backward: CudaCase[] = runs.map((r, c) => ({ program: 2 * r.m + 1, scalars: r.scalars, inputs: { ...r.small, x, y, ...Object.fromEntries(r.a.progs.kept.map((g) => [g, fwd[c]![g]!])) } }));
    const bwd = runCudaProgramOnCpu(programs, funcs, backward);
    let worst = 0;
    runs.forEach((r, c) => {
      const what = `${r.a.family} ${r.a.boundary} ${r.a.schedule} k=${r.k}`;
      const errs = [relErr(fwd[c]!.value!, r.want.value), relErr(fwd[c]!.planeSums!, r.want.planeSums), relErr(bwd[c]!.gradX!, r.want.gradX), relErr(bwd[c]!.gradY!, r.want.gradY)];
      for (const g of r.a.progs.kept) errs.push(relErr(fwd[c]![g]!, r.want.kept[g]!));
      for (const e of errs) expect(e, what).toBeLessThan(1e-13);
      worst = Math.max(worst, ...errs);
      expect(Math.abs(r.want.gradX.reduce((s, v) => s + Math.abs(v), 0)), what).toBeGreaterThan(0);
    });
    expect(runs.length).toBe(GPU_FAMILIES.length * BOUNDARIES.length * SCHEDULES.length * 4);
    console.log(`CUDA (double, CPU emulation) vs interpreter: worst relative difference ${worst.toExponential(2)} over ${runs.length} cases`);
  }, 600_000);
});
