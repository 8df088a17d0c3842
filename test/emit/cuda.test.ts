/**
 * The generated CUDA kernels (src/generated/cpp/ssim_grad.cuh): compiled with nvcc when nvcc is on
 * PATH (skipped with a printed reason otherwise), together with a runner that compares them with
 * the C++ kernels (test/cpp/cuda_vs_cpp.cu); the runner runs only where a GPU is present. Without
 * a GPU, g++ runs the same runner on a CPU emulation of CUDA (test/cpp/cuda_shim.hpp: a thread per
 * pixel, a barrier per __syncthreads), which checks the kernels' indices, tiles and folds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCpp, ROOT, runJsonLines } from '../support/cpp.js';

const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
const hasNvcc = nvcc.status === 0;
if (!hasNvcc) console.log('test/emit/cuda.test.ts: nvcc is not on PATH, the CUDA kernels are not compiled (install the CUDA toolkit to run this test)');
const gpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
const hasGpu = gpu.status === 0 && /GPU \d/.test(gpu.stdout);

/** The runner's rows: CUDA against C++, every boundary rule, float64 to 1e-12 and float32 to 1e-5 (max relative). */
function expectAgreement(rows: Array<Record<string, unknown>>): void {
  expect(rows).toHaveLength(10);
  for (const row of rows) {
    expect(row.cuda, String(row.case)).toBe('no error');
    const tol = String(row.case).endsWith('f64') ? 1e-12 : 1e-5;
    for (const k of ['value', 'gradX', 'gradY']) expect(row[k] as number, `${row.case} ${k}`).toBeLessThan(tol);
  }
}

describe('generated CUDA kernels on a CPU emulation of CUDA (g++)', () => {
  it('equal the C++ kernels for every boundary rule, float64 and float32', () => {
    const bin = buildCpp({
      main: join(ROOT, 'test/cpp/cuda_vs_cpp.cu'),
      includes: [join(ROOT, 'src/generated/cpp'), join(ROOT, 'test/cpp')],
      torch: false,
      flags: ['-pthread', '-DSSIM_GRAD_CUDA_SHIM', '-include', join(ROOT, 'test/cpp/cuda_shim.hpp'), '-x', 'c++'],
    });
    expectAgreement(runJsonLines(bin, ['small']));
  }, 300_000);
});

describe.skipIf(!hasNvcc)('generated CUDA kernels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-cuda-'));
  const bin = join(dir, 'cuda_vs_cpp');

  it('compile with nvcc (device code for sm_80, with the runner that compares them with the C++ kernels)', () => {
    const r = spawnSync('nvcc', ['-std=c++17', '-O2', '-arch=sm_80', `-I${join(ROOT, 'src/generated/cpp')}`, join(ROOT, 'test/cpp/cuda_vs_cpp.cu'), '-o', bin], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // ptxas: the kernels fit the 48 KiB of static shared memory (float64, 11 taps is the largest)
    const ptx = spawnSync('nvcc', ['-std=c++17', '-arch=sm_80', '--resource-usage', '-c', `-I${join(ROOT, 'src/generated/cpp')}`, join(ROOT, 'test/cpp/cuda_vs_cpp.cu'), '-o', join(dir, 'r.o')], { encoding: 'utf8' });
    expect(ptx.status, ptx.stderr).toBe(0);
    const smem = [...ptx.stderr.matchAll(/(\d+) bytes smem/g)].map((m) => Number(m[1]));
    expect(smem.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...smem)).toBeLessThanOrEqual(48 * 1024);
  }, 600_000);

  it.skipIf(!hasGpu)('on the GPU: equal the C++ kernels (float64 to 1e-12, float32 to 1e-5) for every boundary rule', () => {
    expectAgreement(runJsonLines(bin));
  });
  if (!hasGpu) console.log('test/emit/cuda.test.ts: no GPU here (nvidia-smi -L finds none): the CUDA kernels are compiled, not run');
});
