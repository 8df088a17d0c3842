/**
 * The generated CUDA kernels (src/generated/cpp/ssim_grad.cuh: every family's GPU pass programs, the
 * boundary rule a runtime scalar, printed by src/kernel/print-cuda.ts, and their host API) against
 * the generated C++ kernels (ssim_grad.hpp), by test/cpp/cuda_vs_cpp.cu: every family, both
 * schedules, every boundary rule, windows 5, 11, 15 and 7 x 3, value, plane sums, d/dx and d/dy,
 * float64 to 1e-12 and float32 to 1e-5 (relative). Always on the CPU emulation of CUDA (g++ with
 * test/cpp/cuda_shim.hpp); compiled by nvcc for sm_80 where nvcc is (skipped with a printed reason
 * otherwise), and run on the GPU where nvidia-smi -L finds one. The per-rule programs that
 * `emit cuda` writes are test/emit/cuda-ssim.test.ts's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_FAMILIES } from '../../src/emit/gpu-program.js';
import { BOUNDARIES } from '../../src/field/boundary.js';
import { buildCpp, CPP_SOURCE, ROOT, runJsonLines } from '../support/cpp.js';

const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
const hasNvcc = nvcc.status === 0;
const gpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
const hasGpu = gpu.status === 0 && /GPU \d/.test(gpu.stdout);
if (!hasNvcc) console.log('test/emit/cuda.test.ts: nvcc is not on PATH, the CUDA kernels are not compiled for a GPU (install the CUDA toolkit to run that part)');
else if (!hasGpu) console.log('test/emit/cuda.test.ts: no GPU here (nvidia-smi -L finds none): the CUDA kernels are compiled by nvcc, not run on a GPU');

const WINDOWS = ['5x5', '11x11', '15x15', '7x3'];
const SCHEDULES = ['store', 'recompute'];
const INCLUDES = join(ROOT, 'src/generated/cpp');
const RUNNER = join(ROOT, 'test/cpp/cuda_vs_cpp.cu');

/** The runner's rows: one per case, every case present once, each within its precision's tolerance. */
function expectAgreement(rows: Array<Record<string, unknown>>): void {
  const want = ['f64', 'f32'].flatMap((t) => GPU_FAMILIES.flatMap((f) => BOUNDARIES.flatMap((b) => WINDOWS.flatMap((w) => SCHEDULES.map((s) => `${f} ${b} ${s} ${w} ${t}`)))));
  expect(rows.map((r) => r.case).sort()).toEqual(want.sort());
  const worst: Record<string, number> = {};
  for (const row of rows) {
    const what = String(row.case);
    expect(row.cuda, what).toBe('no error');
    const t = what.endsWith('f64') ? 'f64' : 'f32';
    const tol = t === 'f64' ? 1e-12 : 1e-5;
    for (const k of ['value', 'planeSums', 'gradX', 'gradY']) {
      expect(row[k] as number, `${what} ${k}`).toBeLessThan(tol);
      worst[`${t} ${k}`] = Math.max(worst[`${t} ${k}`] ?? 0, row[k] as number);
    }
    // the gradient is not zero (a comparison of zeros would pass anything)
    expect(row.gradMax as number, what).toBeGreaterThan(1e-5);
  }
  console.log('CUDA vs C++ kernels, worst relative difference:', worst);
}

describe('ssim_grad.cuh on a CPU emulation of CUDA (g++)', () => {
  it('equals the C++ kernels: every family, schedule, boundary rule and window, float64 and float32', () => {
    const bin = buildCpp({
      main: RUNNER,
      includes: [INCLUDES, join(ROOT, 'test/cpp')],
      torch: false,
      flags: ['-O1', '-DKERNEL_PROGRAM_CPU_SHIM', '-include', join(ROOT, 'test/cpp/cuda_shim.hpp'), '-x', 'c++', '-Wno-unused-variable', '-Wno-unused-parameter', '-Wno-parentheses'],
    });
    expectAgreement(runJsonLines(bin, ['small']));
  }, 300_000);
});

describe.skipIf(!hasNvcc)('ssim_grad.cuh with nvcc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-cuda-'));
  const bin = join(dir, 'cuda_vs_cpp');

  it(`compiles for sm_80${hasGpu ? ' (the runner, to run on the GPU)' : ' (device code, no GPU to run it)'}`, () => {
    // without a GPU only the compile is checked: device code at a lower ptxas level, no link
    const args = hasGpu ? ['-O2', RUNNER, '-o', bin] : ['-O0', '-Xptxas', '-O1', '-c', RUNNER, '-o', join(dir, 'cuda_vs_cpp.o')];
    const r = spawnSync('nvcc', ['-std=c++17', '-arch=sm_80', `-I${INCLUDES}`, `-I${CPP_SOURCE}`, ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr.slice(0, 4000)).toBe(0);
  }, 600_000);

  it.skipIf(!hasGpu)('on the GPU: equals the C++ kernels (float64 to 1e-12, float32 to 1e-5)', () => {
    expectAgreement(runJsonLines(bin));
  }, 300_000);
});
