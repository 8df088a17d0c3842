/**
 * `npm run bench`: ssim-grad against the peers a TypeScript user would otherwise reach for, each
 * row measured side by side in this one process on the same inputs; each timing warms up until
 * steady and reports the minimum with the median (bench/measure.ts). Prints one table (markdown),
 * the machine it ran on and its load before and after.
 */
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { ssim as ssimJs } from 'ssim.js';
import { ssimGradFast, ssimFast, planKernel } from '../src/runtime/fast.js';
import { gaussianTaps } from '../src/field/index.js';
import { evaluateVariant } from '../src/runtime/variants.js';
import { fmtMs, fmtTiming, formatReport, machineLoad, measure, type Row } from './measure.js';
import { parallelRows, printParallel } from './parallel.js';
import { lcg, scenePair } from './scene.js';

// `npm run bench -- parallel`: the worker-thread rows alone
if (process.argv[2] === 'parallel') {
  await printParallel();
  process.exit(0);
}

// `npm run bench -- schedules`: the GPU programs' schedules, memory (bench/schedules.ts)
if (process.argv[2] === 'schedules') {
  await import('./schedules.js');
  process.exit(0);
}

// `npm run bench -- printed [REV]`: the printed TypeScript kernels beside the string emitter's at REV (bench/printed.ts)
if (process.argv[2] === 'printed') {
  await import('./printed.js');
  process.exit(0);
}

// `npm run bench -- jvp`: forward mode and second order, kernels beside value and gradient and beside the graph interpreter (bench/jvp.ts)
if (process.argv[2] === 'jvp') {
  await import('./jvp.js');
  process.exit(0);
}

// `npm run bench -- cuda`: the printed CUDA kernels on a GPU, forward + backward (bench/cuda.ts)
if (process.argv[2] === 'cuda') {
  await import('./cuda.js');
  process.exit(process.exitCode ?? 0);
}

// `npm run bench -- browser`: ssim-grad in chromium beside ssim.js in the same page (bench/browser.ts)
if (process.argv[2] === 'browser') {
  await import('./browser.js');
  process.exit(process.exitCode ?? 0);
}

// `npm run bench -- check4k`: the checker-at-scale row alone (its own file, child processes)
if (process.argv.slice(2).includes('check4k')) {
  await import('./check-4k.js');
  process.exit(process.exitCode ?? 0);
}

const loadBefore = machineLoad();

/** Minimum wall time of f in ms over `runs` runs, after at least `warmup` warm-up runs and until steady (bench/measure.ts): for rows that need only the number. */
async function time(f: () => unknown, runs: number, warmup = 5): Promise<number> {
  return (await measure(f, { runs, minWarmup: warmup })).min;
}

const rand = lcg(2024);

/** A smooth random scene in [0, 1] and a distorted copy (noise), as float32 NCHW (one generator for every row). */
const pair = (C: number, H: number, W: number): { x: Float32Array; y: Float32Array } => scenePair(C, H, W, rand);

const rows: Row[] = [];
const fmt = fmtMs;

// ---- 1. value and gradient, pytorch-ssim, 512 x 512 x 3 float32: ours vs tfjs autograd ----
{
  const [C, H, W] = [3, 512, 512];
  const { x, y } = pair(C, H, W);
  const X = { shape: [1, C, H, W], data: x };
  const Y = { shape: [1, C, H, W], data: y };
  const oursT = await measure(() => ssimGradFast(X, Y, { preset: 'pytorch-ssim' }, 'float32', 'x'), { runs: 7 });
  const oursMs = oursT.min;
  const ours = ssimGradFast(X, Y, { preset: 'pytorch-ssim' }, 'float32', 'x');

  await tf.setBackend('cpu');
  const nhwc = (a: Float32Array): tf.Tensor4D => tf.tidy(() => tf.transpose(tf.tensor4d(a, [1, C, H, W]), [0, 2, 3, 1]));
  const tx = nhwc(x);
  const ty = nhwc(y);
  const g = gaussianTaps(11, 1.5);
  const w2 = new Float32Array(11 * 11 * C);
  for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) for (let c = 0; c < C; c++) w2[(i * 11 + j) * C + c] = g[i]! * g[j]!;
  const win = tf.tensor4d(w2, [11, 11, C, 1]);
  const [C1, C2] = [0.01 ** 2, 0.03 ** 2];
  // pytorch-ssim's _ssim, written with tfjs ops; tf.valueAndGrad differentiates it
  const loss = (a: tf.Tensor4D): tf.Scalar => {
    const conv = (t: tf.Tensor4D): tf.Tensor4D => tf.depthwiseConv2d(t, win as tf.Tensor4D, 1, 'same');
    const mu1 = conv(a), mu2 = conv(ty);
    const mu1sq = tf.square(mu1), mu2sq = tf.square(mu2), mu12 = tf.mul(mu1, mu2);
    const s1 = tf.sub(conv(tf.square(a)), mu1sq), s2 = tf.sub(conv(tf.square(ty)), mu2sq), s12 = tf.sub(conv(tf.mul(a, ty)), mu12);
    const num = tf.mul(tf.add(tf.mul(mu12, 2), C1), tf.add(tf.mul(s12, 2), C2));
    const den = tf.mul(tf.add(tf.add(mu1sq, mu2sq), C1), tf.add(tf.add(s1, s2), C2));
    return tf.mean(tf.div(num, den));
  };
  const vg = tf.valueAndGrad(loss);
  let tfValue = 0;
  const tfT = await measure(() => {
    const r = tf.tidy(() => vg(tx));
    tfValue = r.value.dataSync()[0]!;
    r.grad.dispose();
    r.value.dispose();
  }, { runs: 3 });
  const tfMs = tfT.min;
  const ratio = tfMs / oursMs;
  rows.push({
    what: `value + d/dx, pytorch-ssim, ${H}x${W}x${C} float32 (value ${ours.ssim.toFixed(7)} vs tfjs ${tfValue.toFixed(7)}, |diff| ${Math.abs(ours.ssim - tfValue).toExponential(1)})`,
    ours: fmtTiming(oursT),
    peer: `tfjs-backend-cpu valueAndGrad: ${fmtTiming(tfT)}`,
    ratio: `${ratio.toFixed(1)}x faster`,
    target: '>= 30x, value to 1e-5',
    met: ratio >= 30 && Math.abs(ours.ssim - tfValue) <= 1e-5,
  });

  // ---- 3. gradient-and-value over value-only (same inputs) ----
  const valueT = await measure(() => ssimFast(X, Y, { preset: 'pytorch-ssim' }, 'float32'), { runs: 7 });
  const valueMs = valueT.min;
  rows.push({
    what: `value + d/dx over value only, same inputs (value only: ${fmtTiming(valueT)})`,
    ours: fmtTiming(oursT),
    peer: '',
    ratio: `${(oursMs / valueMs).toFixed(2)}`,
    target: '<= 2.0',
    met: oursMs / valueMs <= 2.0,
  });

  // ---- 4. the floor: our multiply-adds at the rate of a plain multiply-add loop ----
  // the plain loop: a dot product over two L1-resident float64 arrays with four independent
  // accumulators (the fastest plain loop here; an axpy loop, with its stores, runs ~40 % slower)
  const n = 4096;
  const a = new Float64Array(n).map(() => rand());
  const b = new Float64Array(n).map(() => rand());
  const reps = 20000;
  let sink = 0;
  const loopT = await measure(() => {
    for (let r = 0; r < reps; r++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < n; j += 4) {
        s0 += a[j]! * b[j]!;
        s1 += a[j + 1]! * b[j + 1]!;
        s2 += a[j + 2]! * b[j + 2]!;
        s3 += a[j + 3]! * b[j + 3]!;
      }
      sink += s0 + s1 + s2 + s3;
    }
  }, { runs: 5 });
  const loopMs = loopT.min;
  if (!Number.isFinite(sink)) throw new Error('unreachable');
  const macRate = (n * reps) / loopMs; // multiply-adds per ms
  const macsPerPixel = 5 * 11 + 5 * 11 + 3 * 11 + 3 * 11; // passes 1-4 for d/dx, header of src/generated/ssim.ts
  const floorMs = (macsPerPixel * C * H * W) / macRate;
  rows.push({
    what: `floor: ${macsPerPixel} multiply-adds per pixel x ${C * H * W} pixels at ${(macRate / 1e6).toFixed(2)} G multiply-adds/s (plain dot-product loop)`,
    ours: fmtTiming(oursT),
    peer: `floor ${fmt(floorMs)}`,
    ratio: `${((100 * floorMs) / oursMs).toFixed(0)} % of the floor`,
    target: '>= 50 %',
    met: floorMs / oursMs >= 0.5,
  });
  tx.dispose();
  ty.dispose();
  win.dispose();
}

// ---- 6. MS-SSIM value and gradient, pytorch-msssim, 256 x 256 x 3: ours vs tfjs autograd ----
{
  const [C, H, W] = [3, 256, 256];
  const { x, y } = pair(C, H, W);
  const x255 = Float64Array.from(x, (v) => 255 * v);
  const y255 = Float64Array.from(y, (v) => 255 * v);
  const X = { shape: [1, C, H, W], data: x255 };
  const Y = { shape: [1, C, H, W], data: y255 };
  const opts = { preset: 'pytorch-msssim' as const, variant: 'ms-ssim' as const };
  const oursT = await measure(() => evaluateVariant(X, Y, opts), { runs: 5 });
  const oursMs = oursT.min;
  const ours = evaluateVariant(X, Y, opts);
  const nhwc = (a: Float64Array): tf.Tensor4D => tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from(a), [1, C, H, W]), [0, 2, 3, 1]));
  const tx = nhwc(x255);
  const ty = nhwc(y255);
  const g = gaussianTaps(11, 1.5);
  const w2 = new Float32Array(11 * 11 * C);
  for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) for (let c = 0; c < C; c++) w2[(i * 11 + j) * C + c] = g[i]! * g[j]!;
  const win = tf.tensor4d(w2, [11, 11, C, 1]);
  const [C1, C2] = [(0.01 * 255) ** 2, (0.03 * 255) ** 2];
  // pytorch-msssim's ms_ssim with tfjs ops (every level is even here, so plain 2 x 2 pooling)
  const msssim = (a0: tf.Tensor4D): tf.Scalar => {
    let a = a0;
    let b = ty;
    const factors: tf.Tensor[] = [];
    for (let level = 0; level < 5; level++) {
      const conv = (t: tf.Tensor4D): tf.Tensor4D => tf.depthwiseConv2d(t, win as tf.Tensor4D, 1, 'valid');
      const mu1 = conv(a), mu2 = conv(b);
      const s1 = tf.sub(conv(tf.square(a)), tf.square(mu1)), s2 = tf.sub(conv(tf.square(b)), tf.square(mu2)), s12 = tf.sub(conv(tf.mul(a, b)), tf.mul(mu1, mu2));
      const cs = tf.div(tf.add(tf.mul(s12, 2), C2), tf.add(tf.add(s1, s2), C2));
      const lum = tf.div(tf.add(tf.mul(tf.mul(mu1, mu2), 2), C1), tf.add(tf.add(tf.square(mu1), tf.square(mu2)), C1));
      const perChannel = tf.mean(level === 4 ? tf.mul(lum, cs) : cs, [1, 2]);
      factors.push(tf.pow(tf.relu(perChannel), [0.0448, 0.2856, 0.3001, 0.2363, 0.1333][level]!));
      if (level < 4) {
        a = tf.avgPool(a, 2, 2, 'valid');
        b = tf.avgPool(b, 2, 2, 'valid');
      }
    }
    return tf.mean(factors.reduce((p, f) => tf.mul(p, f)));
  };
  const vg = tf.valueAndGrad(msssim);
  let tfValue = 0;
  const tfT = await measure(() => {
    const r = tf.tidy(() => vg(tx));
    tfValue = r.value.dataSync()[0]!;
    r.grad.dispose();
    r.value.dispose();
  }, { runs: 3 });
  const tfMs = tfT.min;
  rows.push({
    what: `MS-SSIM value + d/dx, pytorch-msssim, ${H}x${W}x${C}, L = 255 (value ${ours.value.toFixed(7)} vs tfjs ${tfValue.toFixed(7)}); ours on the generated S and cs kernels, float64`,
    ours: fmtTiming(oursT),
    peer: `tfjs-backend-cpu valueAndGrad: ${fmtTiming(tfT)}`,
    ratio: `${(tfMs / oursMs).toFixed(1)}x faster`,
    target: '(reported)',
    met: true,
  });
  tx.dispose();
  ty.dispose();
  win.dispose();
}

// ---- 2. value only, grayscale 512 x 512, Gaussian 11 'valid', L = 255: ours vs ssim.js ----
{
  const [H, W] = [512, 512];
  const { x, y } = pair(1, H, W);
  const gray = (a: Float32Array): Float64Array => Float64Array.from(a, (v) => Math.round(255 * v));
  const gx = gray(x);
  const gy = gray(y);
  const rgba = (g: Float64Array): { data: Uint8ClampedArray; width: number; height: number } => {
    const d = new Uint8ClampedArray(4 * g.length);
    for (let i = 0; i < g.length; i++) d.set([g[i]!, g[i]!, g[i]!, 255], 4 * i);
    return { data: d, width: W, height: H };
  };
  const ix = rgba(gx);
  const iy = rgba(gy);
  const X = { shape: [H, W], data: gx };
  const Y = { shape: [H, W], data: gy };
  const opts = { preset: 'pytorch-msssim' as const, dataRange: 255 }; // Gaussian 11, sigma 1.5, 'valid', L = 255
  const oursT = await measure(() => ssimFast(X, Y, opts), { runs: 9 });
  const oursMs = oursT.min;
  const ours = ssimFast(X, Y, opts);
  for (const variant of ['fast', 'original', 'weber'] as const) {
    const peerT = await measure(() => ssimJs(ix, iy, { ssim: variant, downsample: false }), { runs: 5 });
    const peerMs = peerT.min;
    const v = ssimJs(ix, iy, { ssim: variant, downsample: false }).mssim;
    rows.push({
      what: `value, gray ${H}x${W}, Gaussian 11 valid, L = 255 (ours ${ours.toFixed(6)}, ssim.js '${variant}' ${v.toFixed(6)})`,
      ours: fmtTiming(oursT),
      peer: `ssim.js '${variant}': ${fmtTiming(peerT)}`,
      ratio: `${(peerMs / oursMs).toFixed(1)}x faster`,
      target: variant === 'fast' ? '>= 3x' : '(reported)',
      met: variant === 'fast' ? peerMs / oursMs >= 3 : true,
    });
  }
}

// ---- 5. memory: extra bytes per pixel and channel of value + gradient, 2048 x 2048 x 3 float32 ----
{
  const [C, H, W] = [3, 2048, 2048];
  const { x, y } = pair(C, H, W);
  const X = { shape: [1, C, H, W], data: x };
  const Y = { shape: [1, C, H, W], data: y };
  const plan = planKernel(X, Y, { preset: 'pytorch-ssim' });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().arrayBuffers;
  const r = ssimGradFast(X, Y, { preset: 'pytorch-ssim' }, 'float32', 'x');
  // buffers the kernel allocated are garbage now but, with no collection in between, still counted
  const after = process.memoryUsage().arrayBuffers;
  const output = r.gradX.data.byteLength;
  const measured = (after - before - output) / (C * H * W);
  // the kernel's own allocation list: 5 pass-1 planes of (H + 10) x W and 3 partial maps of H x W
  // in float64, plus 10 padded rows
  const planes = 5 * 8 * (H + 10) * W + 3 * 8 * H * W;
  const counted = (planes + 10 * 8 * (W + 10)) / (C * H * W);
  rows.push({
    what: `memory: value + d/dx, ${H}x${W}x${C} float32, extra bytes per pixel and channel (${plan.params.tapsH.length} taps)`,
    ours: `${counted.toFixed(1)} B counted, ${measured.toFixed(1)} B measured${gc === undefined ? ' (no --expose-gc)' : ''}`,
    peer: '',
    ratio: '',
    target: '<= 48 B',
    met: Math.max(counted, measured) <= 48,
  });
}

rows.push(...(await parallelRows()));

const cpu = cpus();
const machine = { date: new Date().toISOString().slice(0, 10), node: process.version, cores: cpu.length, model: cpu[0]?.model.trim() ?? 'unknown cpu' };
console.log(formatReport(rows, machine, loadBefore, machineLoad()));

// the C++ and libtorch rows (own file; needs g++ and libtorch, says so when they are missing)
(await import('./cpp.js')).printCppBench();
