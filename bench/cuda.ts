/**
 * `npm run bench -- cuda`: forward + backward of the printed CUDA kernels (src/emit/gpu-program.ts
 * printed by src/kernel/print-cuda.ts, float32) of plain SSIM and of the fused 3DGS loss
 * (0.8 L1 + 0.2 D-SSIM, both gradients), pytorch-ssim's options (11-tap Gaussian, sigma 1.5, zero
 * padding), at 3 x 1080 x 1920 and 3 x 2160 x 3840, both schedules (store: the forward keeps five
 * partial maps for the backward; recompute: nothing image-sized kept). Beside them: fused-ssim's
 * published figures (fused L1 + SSIM forward + backward on an RTX 4090, its PR #33: 0.57 ms and
 * 2.54 ms) and, where Python's torch with CUDA is installed, torch autograd of pytorch-ssim's formula
 * on the same card (bench/cuda/torch_autograd.py).
 *
 * Needs nvcc and a GPU (nvidia-smi -L). Without a GPU it says so and runs the same host program on
 * the tests' CPU emulation of CUDA (g++, test/cpp/cuda_shim.hpp) at 3 x 24 x 32, against the
 * float64 runtime, so the bench's own host code is checked where it cannot be timed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaussianTaps } from '../src/field/index.js';
import { GPU_FAMILIES, gpuArguments, gpuPrograms, type GpuFamily } from '../src/emit/gpu-program.js';
import type { KernelParams } from '../src/emit/params.js';
import type { PassProgram } from '../src/kernel/ir.js';
import { cudaName, cudaParamsName, printCudaModule } from '../src/kernel/print-cuda.js';
import { evaluateVariant } from '../src/runtime/index.js';
import { buildCpp } from '../test/support/cpp.js';

const ROOT = join(import.meta.dirname, '..');
const FAMILIES: ReadonlyArray<{ family: GpuFamily; variant: string; what: string }> = [
  { family: 'ssim', variant: 'ssim', what: 'SSIM' },
  { family: 'gs-loss', variant: '3dgs-loss', what: '0.8 L1 + 0.2 D-SSIM (fused)' },
];
const PUBLISHED: Readonly<Record<string, string>> = { '3x1080x1920': '0.57 ms', '3x2160x3840': '2.54 ms' };

/** One schedule's host code: allocate the forward's and the backward's buffers (sharing x, y, the taps, the weights and the kept maps), time `reps` forward + backward. */
function scheduleBlock(fwd: PassProgram, bwd: PassProgram, kept: readonly string[], schedule: string, scalars: readonly string[]): string {
  const F = `kernel_program::${cudaParamsName(fwd)}<float, float>`, B = `kernel_program::${cudaParamsName(bwd)}<float, float>`;
  const set = (v: string) => scalars.map((s) => `    ${v}.${s} = static_cast<decltype(${v}.${s})>(S.at("${s}"));`).join('\n');
  const shared = new Set(['x', 'y', 'tapsH', 'tapsW', 'weight', ...kept]);
  const alloc = (v: string, p: PassProgram, sizes: string, skip: (n: string) => boolean) =>
    p.buffers.filter((b) => !skip(b.name)).map((b) => `    ${v}.${b.name} = alloc(${sizes}.${b.name}, bytesKept, ${kept.includes(b.name) ? 'true' : 'false'});`).join('\n');
  return `  {
    ${F} f{};
    ${B} b{};
${set('f')}
${set('b')}
    const auto fs = kernel_program::${cudaName(fwd)}_sizes(f);
    const auto bs = kernel_program::${cudaName(bwd)}_sizes(b);
    long long bytesKept = 0;
${alloc('f', fwd, 'fs', () => false)}
${bwd.buffers.filter((x) => shared.has(x.name) && fwd.buffers.some((y) => y.name === x.name)).map((x) => `    b.${x.name} = f.${x.name};`).join('\n')}
${alloc('b', bwd, 'bs', (n) => shared.has(n) && fwd.buffers.some((y) => y.name === n))}
    upload(const_cast<float*>(f.x), x); upload(const_cast<float*>(f.y), y); upload(const_cast<float*>(f.tapsH), taps); upload(const_cast<float*>(f.tapsW), taps); upload(const_cast<float*>(f.weight), weight);
    std::vector<double> ms;
    for (int r = 0; r < warmup + reps; r++) {
      check(cudaDeviceSynchronize(), "sync");
      const auto t0 = std::chrono::steady_clock::now();
      check(kernel_program::${cudaName(fwd)}_launch(f), "forward");
      check(kernel_program::${cudaName(bwd)}_launch(b), "backward");
      check(cudaDeviceSynchronize(), "sync");
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= warmup) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const std::vector<float> value = download(f.value, 1), gx = download(b.gradX, x.size()), gy = download(b.gradY, y.size());
    std::printf("{\\"schedule\\":\\"${schedule}\\",\\"medianMs\\":%.6f,\\"minMs\\":%.6f,\\"keptBytes\\":%lld,\\"value\\":%.9g,\\"gx\\":[", ms[ms.size() / 2], ms[0], bytesKept, double(value[0]));
    for (size_t i = 0; i < probes.size(); i++) std::printf("%s%.9g", i ? "," : "", double(gx[probes[i]]));
    std::printf("],\\"gy\\":[");
    for (size_t i = 0; i < probes.size(); i++) std::printf("%s%.9g", i ? "," : "", double(gy[probes[i]]));
    std::printf("]}\\n");
    for (void* p : allocated) cudaFree(p);
    allocated.clear();
  }`;
}

/** The bench program of a family: both schedules' forward + backward, sizes from the command line. */
function benchSource(family: GpuFamily, args: Record<string, number | Float64Array>): { cuh: string; main: string } {
  const sets = (['store', 'recompute'] as const).map((partials) => ({ partials, p: gpuPrograms(family, { boundary: 'same', gradY: true, schedule: { partials } }) }));
  const programs = sets.flatMap((s) => [s.p.forward, s.p.backward]);
  const funcs = sets.flatMap((s) => s.p.funcs);
  const scalars = sets[0]!.p.forward.scalars.map((s) => s.name).filter((n) => !['NC', 'H', 'W', 'MH', 'MW', 'kh', 'kw'].includes(n));
  const constants = scalars.map((n) => `{"${n}", ${Number(args[n])}}`).join(', ');
  const main = `// bench/cuda.ts: forward + backward of ${family}, both schedules (not committed; written at bench time)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>
#include "program.cuh"

static std::vector<void*> allocated;
static void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) { std::fprintf(stderr, "%s: %s\\n", what, cudaGetErrorString(e)); std::exit(1); }
}
static float* alloc(long long n, long long& kept, bool isKept) {
  float* p = nullptr;
  check(cudaMalloc(&p, static_cast<size_t>(std::max(1LL, n)) * sizeof(float)), "cudaMalloc");
  allocated.push_back(p);
  // every buffer starts zeroed (the programs' scratch must)
  std::vector<float> z(static_cast<size_t>(std::max(1LL, n)), 0.f);
  check(cudaMemcpy(p, z.data(), z.size() * sizeof(float), cudaMemcpyHostToDevice), "zero");
  if (isKept) kept += n * static_cast<long long>(sizeof(float));
  return p;
}
static void upload(float* d, const std::vector<float>& h) { check(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice), "upload"); }
static std::vector<float> download(const float* d, size_t n) {
  std::vector<float> h(n);
  check(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), "download");
  return h;
}

int main(int argc, char** argv) {
  const int C = std::atoi(argv[1]), H = std::atoi(argv[2]), W = std::atoi(argv[3]), reps = std::atoi(argv[4]), warmup = std::atoi(argv[5]);
  const std::vector<float> taps = {${Array.from(args.tapsH as Float64Array, (t) => `${t}f`).join(', ')}};
  const int k = static_cast<int>(taps.size());
  std::map<std::string, double> S = {{"NC", double(C)}, {"H", double(H)}, {"W", double(W)}, {"MH", double(H)}, {"MW", double(W)}, {"kh", double(k)}, {"kw", double(k)}, ${constants}};
  // the scene: smooth x, y = x with a deterministic perturbation (the values in the JSON are read back by bench/cuda.ts)
  std::vector<float> x(static_cast<size_t>(C) * H * W), y(x.size());
  for (size_t i = 0; i < x.size(); i++) {
    const double v = 0.5 + 0.35 * std::sin(0.013 * double(i % W) + 0.021 * double(i / W)) * std::cos(0.007 * double(i));
    x[i] = float(v);
    y[i] = float(std::min(1.0, std::max(0.0, v + 0.1 * std::sin(1.7 * double(i)))));
  }
  const std::vector<float> weight(C, float(1.0 / (double(C) * H * W)));
  const std::vector<size_t> probes = {0, 1, static_cast<size_t>(W) + 3, x.size() / 2, x.size() - 1};
${sets.map((s) => scheduleBlock(s.p.forward, s.p.backward, s.p.kept, s.partials, s.p.forward.scalars.map((c) => c.name))).join('\n')}
  return 0;
}
`;
  return { cuh: printCudaModule(programs, funcs, `// bench/cuda.ts: ${family}, both schedules`), main };
}

interface Row {
  schedule: string;
  medianMs: number;
  minMs: number;
  keptBytes: number;
  value: number;
  gx: number[];
  gy: number[];
}

function run(bin: string, shape: [number, number, number], reps: number, warmup: number): Row[] {
  const r = spawnSync(bin, [...shape.map(String), String(reps), String(warmup)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${bin} exited with ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
}

const gpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
const card = gpu.status === 0 ? /GPU \d+: ([^(]+)/.exec(gpu.stdout)?.[1]?.trim() : undefined;
const hasNvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).status === 0;
const taps = gaussianTaps(11, 1.5);
const kp = (C: number, H: number, W: number): KernelParams => ({ N: 1, C, H, W, padding: 'same', tapsH: taps, tapsW: taps, C1: 1e-4, C2: 9e-4, c_n: 1, crop: 0, omega: 1 / (C * H * W) }) as KernelParams;

console.log(`\nCUDA (bench/cuda.ts): forward + backward, float32, pytorch-ssim's options${card ? ` on ${card}` : ''}`);
for (const { family, variant, what } of FAMILIES) {
  if (!GPU_FAMILIES.includes(family)) continue;
  const dir = mkdtempSync(join(tmpdir(), `ssim-grad-cuda-bench-${family}-`));
  const src = benchSource(family, gpuArguments(family, kp(3, 8, 8), { lambda: 0.2 }));
  writeFileSync(join(dir, 'program.cuh'), src.cuh);
  writeFileSync(join(dir, 'main.cu'), src.main);
  if (card === undefined || !hasNvcc) {
    // no GPU: the same host program on the CPU emulation, small, against the float64 runtime
    const bin = buildCpp({ main: join(dir, 'main.cu'), includes: [dir, join(ROOT, 'test/cpp')], torch: false, flags: ['-DKERNEL_PROGRAM_CPU_SHIM', '-include', join(ROOT, 'test/cpp/cuda_shim.hpp'), '-x', 'c++', '-Wno-unused-variable', '-Wno-unused-parameter'] });
    const [C, H, W] = [3, 24, 32];
    const rows = run(bin, [C, H, W], 1, 0);
    // the scene of main.cu, rebuilt here
    const x = new Float64Array(C * H * W), y = new Float64Array(C * H * W);
    for (let i = 0; i < x.length; i++) {
      const v = 0.5 + 0.35 * Math.sin(0.013 * (i % W) + 0.021 * Math.floor(i / W)) * Math.cos(0.007 * i);
      x[i] = Math.fround(v);
      y[i] = Math.fround(Math.min(1, Math.max(0, v + 0.1 * Math.sin(1.7 * i))));
    }
    const ref = evaluateVariant({ shape: [1, C, H, W], data: x }, { shape: [1, C, H, W], data: y }, { variant, preset: 'pytorch-ssim' });
    const probes = [0, 1, W + 3, x.length / 2, x.length - 1];
    const scale = Math.max(...ref.gradX.map(Math.abs));
    for (const r of rows) {
      const dx = Math.max(...probes.map((p, i) => Math.abs(r.gx[i]! - ref.gradX[p]!))) / scale;
      const dy = Math.max(...probes.map((p, i) => Math.abs(r.gy[i]! - ref.gradY[p]!))) / scale;
      const ok = Math.abs(r.value - ref.value) < 1e-5 && dx < 1e-4 && dy < 1e-4;
      console.log(`  ${what}, ${r.schedule}: not timed (${card === undefined ? 'no GPU: nvidia-smi -L finds none' : 'nvcc is not on PATH'}); the host program on the CPU emulation at ${C}x${H}x${W}: value ${r.value.toPrecision(7)} vs ${ref.value.toPrecision(7)} (float64 runtime), gradients to ${Math.max(dx, dy).toExponential(1)} of their largest — ${ok ? 'agree' : 'DISAGREE'}`);
      if (!ok) process.exitCode = 1;
    }
    continue;
  }
  const bin = join(dir, 'bench');
  const c = spawnSync('nvcc', ['-std=c++17', '-O3', '-arch=native', '-x', 'cu', join(dir, 'main.cu'), `-I${dir}`, '-o', bin], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`nvcc: ${c.stderr.slice(0, 3000)}`);
  console.log(`\n| ${what} | schedule | median | min | kept between fwd and bwd | fused-ssim (RTX 4090, published) |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const shape of [[3, 1080, 1920], [3, 2160, 3840]] as Array<[number, number, number]>) {
    for (const r of run(bin, shape, 21, 5)) console.log(`| ${shape.join('x')} | ${r.schedule} | ${r.medianMs.toFixed(3)} ms | ${r.minMs.toFixed(3)} ms | ${(r.keptBytes / 2 ** 20).toFixed(1)} MiB | ${family === 'gs-loss' ? PUBLISHED[shape.join('x')] : '—'} |`);
  }
}
if (card !== undefined) {
  const py = spawnSync('python3', [join(ROOT, 'bench/cuda/torch_autograd.py')], { encoding: 'utf8' });
  console.log(py.status === 0 ? py.stdout : `\ntorch autograd on the card: not measured (${(py.stderr || py.stdout).trim().split('\n').pop()})`);
}
