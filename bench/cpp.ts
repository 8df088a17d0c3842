/**
 * The C++ rows of `npm run bench` (also runnable alone: `npx tsx bench/cpp.ts`): the generated C++
 * kernel (value + d/dx) against libtorch autograd of pytorch-ssim's formula (11 x 11 conv2d) and of
 * a separable-convolution version, in one C++ process on one thread (bench/cpp/bench.cpp). Needs
 * g++ and libtorch; says so and prints no rows when they are missing.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildCpp, missingToolchain } from '../test/support/cpp.js';

const ROOT = join(import.meta.dirname, '..');

interface Timing {
  shape: string;
  dtype: string;
  impl: 'generated' | 'conv2d' | 'separable';
  medianMs: number;
  minMs: number;
  value: number;
  gradRel: number;
}

/**
 * Compiles bench/cpp/bench.cpp and runs it with args: its JSON lines that contain `key`, and the load
 * average before and after; null (having said why) without g++ or libtorch.
 */
function runBench<T>(args: readonly string[], key: string): { rows: T[]; before: string; after: string } | null {
  const missing = missingToolchain();
  if (missing !== null) {
    console.log(`  C++ rows not measured: ${missing}`);
    return null;
  }
  const bin = buildCpp({ main: join(ROOT, 'bench/cpp/bench.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: true });
  const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
  const before = load();
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`bench/cpp/bench.cpp ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  const after = load();
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.includes(`"${key}"`))
    .map((l) => JSON.parse(l) as T);
  return { rows, before, after };
}

/** Compiles and runs the C++ bench; prints its table. `reps`: timed runs on 1x3x512x512 and on 1x3x1080x1920. */
export function printCppBench(reps: readonly [number, number] = [5, 1]): void {
  console.log('\nC++ and libtorch (bench/cpp.ts): value + d/dx, one thread (torch::set_num_threads(1)), one process');
  const run = runBench<Timing>(reps.map(String), 'impl');
  if (run === null) return;
  const { rows, before, after } = run;
  const ms = (t: Timing): string => `${t.medianMs.toFixed(0)} ms (min ${t.minMs.toFixed(0)})`;
  console.log(`load average (1, 5, 15 min) before ${before}, after ${after}; runs: ${reps[0]} on 512x512 after a warm-up, ${reps[1]} on 1080x1920 without\n`);
  console.log('| shape, dtype | generated C++ | libtorch conv2d autograd | libtorch separable autograd | vs conv2d | vs separable | target | met |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const g of rows.filter((t) => t.impl === 'generated')) {
    const conv = rows.find((t) => t.shape === g.shape && t.dtype === g.dtype && t.impl === 'conv2d')!;
    const sep = rows.find((t) => t.shape === g.shape && t.dtype === g.dtype && t.impl === 'separable')!;
    const vsConv = conv.medianMs / g.medianMs;
    const vsSep = sep.medianMs / g.medianMs;
    // the goals: 3x faster than conv2d autograd in float32, never slower than the separable version
    const target = g.dtype === 'float32' ? '>= 3x vs conv2d, >= 1x vs separable' : '>= 1x vs separable';
    const met = vsSep >= 1 && (g.dtype !== 'float32' || vsConv >= 3);
    console.log(
      `| ${g.shape} ${g.dtype} | ${ms(g)} | ${ms(conv)}, grad ${conv.gradRel.toExponential(1)} rel | ${ms(sep)}, grad ${sep.gradRel.toExponential(1)} rel | ${vsConv.toFixed(1)}x | ${vsSep.toFixed(1)}x | ${target} | ${met ? 'yes' : 'NO'} |`,
    );
  }
}

interface ScheduleRow {
  family: string;
  schedule: 'store' | 'recompute';
  shape: string;
  medianMs: number;
  minMs: number;
  keptBytes: number;
  imageBytes: number;
}

/**
 * The libtorch binding's two schedules (src/cpp/ssim_torch_core.hpp MapFunction): forward + backward of
 * SsimFunction and GsLossFunction, x and y needing gradients, float32 1x3x1080x1920, one thread, `reps`
 * timed runs after a warm-up; the bytes the autograd context keeps between the passes beyond x and y.
 */
export function printCppSchedules(reps = 5, shape: readonly [number, number] = [1080, 1920]): void {
  console.log(`\nC++ binding, store and recompute schedules (bench/cpp.ts): forward + backward, x and y need gradients, float32 1x3x${shape[0]}x${shape[1]}, one thread`);
  const run = runBench<ScheduleRow>(['schedules', String(reps), String(shape[0]), String(shape[1])], 'schedule');
  if (run === null) return;
  const { rows, before, after } = run;
  const MiB = (b: number): string => `${(b / (1 << 20)).toFixed(1)} MiB`;
  console.log(`load average (1, 5, 15 min) before ${before}, after ${after}; ${reps} timed runs after one warm-up\n`);
  console.log('| family, shape | store: forward + backward | recompute: forward + backward | recompute / store time | kept between passes beyond x, y: store | recompute |');
  console.log('|---|---|---|---|---|---|');
  for (const family of [...new Set(rows.map((x) => x.family))]) {
    const s = rows.find((x) => x.family === family && x.schedule === 'store')!;
    const c = rows.find((x) => x.family === family && x.schedule === 'recompute')!;
    const ms = (t: ScheduleRow): string => `${t.medianMs.toFixed(0)} ms (min ${t.minMs.toFixed(0)})`;
    console.log(
      `| ${family}, ${s.shape} float32 | ${ms(s)} | ${ms(c)} | ${(c.medianMs / s.medianMs).toFixed(2)}x | ${MiB(s.keptBytes)} (${(s.keptBytes / s.imageBytes).toFixed(0)} images) | ${MiB(c.keptBytes)} |`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) printCppBench();
