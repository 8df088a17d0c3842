/**
 * `npm run bench -- schedules`: the GPU programs' two schedules for every family at 3 x 1080 x 1920
 * (and 3 x 2160 x 3840), float32 (4-byte elements): the image-sized memory kept between the forward
 * and the backward (the store schedule's partial maps; none under recompute) and the peak extra
 * memory of each program (scratch and outputs beside the inputs), exact, from the programs' buffer
 * sizes. Their time needs a GPU: with nvidia-smi finding one this says how to run them; without,
 * it says there is none (the CPU emulation of CUDA in the tests is not a timing). Then the libtorch
 * binding's two schedules on the CPU, timed, with the memory each keeps (bench/cpp.ts printCppSchedules).
 */
import { spawnSync } from 'node:child_process';
import { GPU_FAMILIES, gpuPrograms } from '../src/emit/gpu-program.js';
import { interpretKernel } from '../src/kernel/interpret.js';
import type { Expr, PassProgram } from '../src/kernel/ir.js';
import { printCppSchedules } from './cpp.js';

const MB = 1024 * 1024;

/** A size expression's value under the scalars. */
function size(program: PassProgram, e: Expr, scalars: Record<string, number>): number {
  const params = program.scalars.map((sc) => ({ k: 'scalar' as const, name: sc.name, type: sc.type }));
  return interpretKernel({ name: 'size', doc: '', params, returns: 'i32', body: [{ k: 'return', value: e }] }, [])(scalars) as number;
}

const rows: string[] = ['| family, shape | schedule | kept between forward and backward | forward peak extra | backward peak extra |', '|---|---|---|---|---|'];
for (const [C, H, W] of [
  [3, 1080, 1920],
  [3, 2160, 3840],
] as const) {
  for (const family of GPU_FAMILIES) {
    for (const partials of ['store', 'recompute'] as const) {
      const p = gpuPrograms(family, { boundary: 'same', gradY: true, schedule: { partials } });
      const scalars = { NC: C, H, W, MH: H, MW: W, kh: 11, kw: 11, crop: 0 };
      const bytes = (prog: PassProgram, keep: (b: PassProgram['buffers'][number]) => boolean): number => prog.buffers.filter(keep).reduce((s, b) => s + 4 * size(prog, b.size, scalars), 0);
      const kept = bytes(p.forward, (b) => p.kept.includes(b.name));
      const fwd = bytes(p.forward, (b) => b.role !== 'input');
      const bwd = bytes(p.backward, (b) => b.role !== 'input');
      rows.push(`| ${family}, ${C}x${H}x${W} | ${partials} | ${(kept / MB).toFixed(1)} MiB (${p.kept.length} maps) | ${(fwd / MB).toFixed(1)} MiB | ${(bwd / MB).toFixed(1)} MiB |`);
    }
  }
}
console.log('GPU schedules, float32 elements, 11 x 11 window, exact from the programs\' buffer sizes (src/emit/gpu-program.ts)');
console.log(rows.join('\n'));
const gpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
console.log(gpu.status === 0 && /GPU \d/.test(gpu.stdout) ? `GPU: ${gpu.stdout.trim()} (timing rows: not written yet; see the README)` : 'time: no GPU here (nvidia-smi finds none); the GPU schedules are not timed (the C++ binding\'s are, below)');
printCppSchedules();
