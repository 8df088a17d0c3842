/**
 * The bench page's script (bench/browser.ts bundles it with ssim.js and serves it beside the page's
 * bundles): times, in the page, ssim-grad's value and value + both gradients on the CPU kernels (one
 * thread, and web workers) and on WebGPU, beside ssim.js 'fast' and 'weber' on the same gray images
 * (R = G = B, so ssim.js's gray conversion gives the same values). Medians of the timed runs after
 * warm-up runs; each call as a user makes it (WebGPU: upload, dispatch, read back).
 */
/// <reference lib="dom" />
import { ssim as ssimJs } from 'ssim.js';
import { ssim, ssimAsync, ssimAuto, ssimGrad, ssimGradAsync, ssimGradAuto, setWorkerUrl } from '../src/browser/index.js';

setWorkerUrl(new URL('worker.js', location.href));

/** One timed measurement, in ms. */
export interface BrowserTiming {
  readonly what: string;
  readonly median: number;
  readonly min: number;
  readonly runs: number;
  readonly value: number;
}

async function timed(what: string, f: () => unknown, runs: number, warmup: number): Promise<BrowserTiming> {
  let value = Number.NaN;
  for (let i = 0; i < warmup; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = (await f()) as number | { ssim?: number; mssim?: number };
    t.push(performance.now() - t0);
    value = typeof r === 'number' ? r : (r.ssim ?? r.mssim ?? Number.NaN);
  }
  t.sort((a, b) => a - b);
  return { what, median: t[Math.floor(t.length / 2)]!, min: t[0]!, runs, value };
}

/** A smooth scene with noise, quantised to 8 bits (as bench/scene.ts, gray): x and a noisy y. */
function grayPair(H: number, W: number): { x: Float64Array; y: Float64Array } {
  let s = 2024;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = new Float64Array(H * W), y = new Float64Array(H * W);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const v = 0.5 + 0.25 * Math.sin(i / 17) * Math.cos(j / 23) + 0.2 * rand();
      x[i * W + j] = Math.round(255 * v);
      y[i * W + j] = Math.round(255 * Math.min(1, Math.max(0, v + 0.1 * (rand() - 0.5))));
    }
  }
  return { x, y };
}

/** The rows for one size. */
export async function benchSize(H: number, W: number, runs: number, warmup: number, gpu: boolean): Promise<BrowserTiming[]> {
  const { x, y } = grayPair(H, W);
  const rgba = (g: Float64Array) => {
    const d = new Uint8ClampedArray(4 * g.length);
    for (let i = 0; i < g.length; i++) d.set([g[i]!, g[i]!, g[i]!, 255], 4 * i);
    return { data: d, width: W, height: H };
  };
  const ix = rgba(x), iy = rgba(y);
  const X = { shape: [H, W], data: x }, Y = { shape: [H, W], data: y };
  const o = { preset: 'pytorch-msssim' as const, dataRange: 255 }; // Gaussian 11, sigma 1.5, 'valid', L = 255: ssim.js's window
  const rows: BrowserTiming[] = [];
  const add = async (what: string, f: () => unknown): Promise<void> => {
    rows.push(await timed(what, f, runs, warmup));
  };
  await add('ssim-grad value, CPU, 1 thread', () => ssim(X, Y, o));
  await add('ssim-grad value, CPU, web workers', () => ssimAsync(X, Y, o, { minPixels: 0 }));
  await add('ssim-grad value + d/dx, d/dy, CPU, 1 thread', () => ssimGrad(X, Y, o));
  await add('ssim-grad value + d/dx, d/dy, CPU, web workers', () => ssimGradAsync(X, Y, o, { minPixels: 0 }));
  if (gpu) {
    await add('ssim-grad value, WebGPU', () => ssimAuto(X, Y, o, { backend: 'webgpu' }));
    await add('ssim-grad value + d/dx, d/dy, WebGPU', () => ssimGradAuto(X, Y, o, { backend: 'webgpu' }));
  }
  await add("ssim.js 'fast' value", () => ssimJs(ix, iy, { ssim: 'fast', downsample: false }));
  await add("ssim.js 'weber' value", () => ssimJs(ix, iy, { ssim: 'weber', downsample: false }));
  return rows;
}

(globalThis as unknown as { benchSize: typeof benchSize }).benchSize = benchSize;
