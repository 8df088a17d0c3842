/**
 * The emitted C++ source(b, j, n) and the CUDA file's boundaryIndex(j, n, rule) (the function its
 * programs call, printed from the rules' index programs) compiled with g++ (no libtorch: the CUDA
 * file on the tests' CPU emulation) and run over a range of indices and lengths, next to boundaryIndex.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitCppHeader, emitCudaHeader } from '../../src/emit/cpp.js';
import { BOUNDARIES, boundaryIndex } from '../../src/field/index.js';
import { BOUNDARY_RULES } from '../../src/field/boundary.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LENGTHS = [1, 2, 3, 4, 7];

/** Where each rule reads index j of an axis of length n, by the C++ header, the CUDA file and boundaryIndex ('valid': inside only). */
export function sourcesEverywhere(): Array<{ rule: string; n: number; j: number; cpp: number; cuda: number; ts: number }> {
  const gpp = spawnSync('g++', ['--version'], { encoding: 'utf8' });
  if (gpp.status !== 0) throw new Error('g++ is not on PATH: install it (Debian: apt-get install g++; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-source-'));
  writeFileSync(join(dir, 'ssim_grad.hpp'), emitCppHeader());
  writeFileSync(join(dir, 'ssim_grad.cuh'), emitCudaHeader());
  writeFileSync(
    join(dir, 'main.cpp'),
    `#include <cstdio>
#include "ssim_grad.cuh"
int main() {
  const long lengths[] = {${LENGTHS.join(', ')}};
  for (int b = 0; b < ${BOUNDARIES.length}; b++)
    for (long n : lengths)
      for (long j = -3 * n; j < 4 * n; j++)
        std::printf("%d %ld %ld %ld %ld\\n", b, n, j, ssim_grad::source(static_cast<ssim_grad::Boundary>(b), j, n), long(kernel_program::boundaryIndex(int(j), int(n), b)));
}
`,
  );
  const bin = join(dir, 'main');
  const flags = ['-std=c++17', '-O1', '-pthread', '-DKERNEL_PROGRAM_CPU_SHIM', '-include', join(ROOT, 'test/cpp/cuda_shim.hpp'), `-I${dir}`, `-I${join(ROOT, 'src/cpp')}`, '-x', 'c++'];
  const c = spawnSync('g++', [...flags, join(dir, 'main.cpp'), '-o', bin], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`g++ failed:\n${c.stderr.slice(0, 4000)}`);
  const r = spawnSync(bin, [], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`source runner failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(Number))
    .filter(([b, n, j]) => BOUNDARY_RULES[BOUNDARIES[b!]!].pads || (j! >= 0 && j! < n!))
    .map(([b, n, j, cpp, cuda]) => ({ rule: BOUNDARIES[b!]!, n: n!, j: j!, cpp: cpp!, cuda: cuda!, ts: boundaryIndex(j!, n!, BOUNDARIES[b!]!) }));
}
