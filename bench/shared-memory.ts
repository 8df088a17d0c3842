/**
 * Why the worker threads run the kernels on copies in ordinary memory: the same kernel (value + d/dx,
 * 11 taps, 'same', float32 storage, gray 512 x 512) on typed arrays over an ArrayBuffer and over a
 * SharedArrayBuffer, each in its own process (`npx tsx bench/shared-memory.ts plain`, `... shared`;
 * without an argument it runs both as child processes), min of 20 runs, os.loadavg() printed.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { ssimKernels } from '../src/generated/index.js';
import { planKernel } from '../src/runtime/fast.js';

const [H, W] = [512, 512];
const n = H * W;
const mode = process.argv[2];
if (mode === 'plain' || mode === 'shared') {
  const make = (): Float32Array => {
    const a = mode === 'shared' ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = 0.5 + 0.4 * Math.sin(i * 0.37);
    return a;
  };
  const plan = planKernel({ shape: [H, W], data: new Float64Array(n) }, { shape: [H, W], data: new Float64Array(n) }, {});
  const ts: number[] = [];
  for (let r = 0; r < 20; r++) {
    const [x, y, gx] = [make(), make(), mode === 'shared' ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n)];
    const t0 = performance.now();
    ssimKernels.same.k11.gradF32(x, y, plan.params, { gradX: gx, gradY: null });
    ts.push(performance.now() - t0);
  }
  console.log(`${mode}: ${Math.min(...ts).toFixed(1)} ms (min of 20), loadavg ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
} else {
  for (const m of ['plain', 'shared']) process.stdout.write(execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, m], { encoding: 'utf8' }));
}
