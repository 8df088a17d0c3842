/**
 * `ssim-grad/browser`: the library in a browser, an ES module with no Node imports (built by
 * scripts/build-browser.ts into dist/web/ssim-grad.js; test/browser/bundle.test.ts scans it). The
 * same `ssim`, `ssimGrad`, `evaluateVariant` and `checkGradient` as in Node, plus what a page needs:
 * web workers where Node has worker threads (`ssimAsync`, `ssimGradAsync`, `ssimGradFastAsync`),
 * WebGPU where the browser has it (`ssimAuto`, `ssimGradAuto`: the WGSL kernels, else the CPU
 * kernels; the result says which ran), the checker on a dropped `.npy` (`checkCandidate`,
 * `checkCandidateAsync`), the table of every preset, PNG and .npy decoding. `ssim-grad/browser/ssim`
 * (ssim.ts) is SSIM's value and gradient alone.
 */
import type { Precision, Tensor } from '../field/index.js';
import { parallelSsim, parallelSsimGradFast, type ParallelOptions } from '../runtime/_internals/parallel-core.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';
import { evaluateSsim } from '../runtime/reference.js';
import { ssim as ssimCpu, ssimGrad as ssimGradCpu } from '../runtime/ssim.js';
import { hasWebgpu, ssimOnGpu } from './gpu.js';
import { runTask, terminateWebWorkers, WEB_WORKERS, WorkerFailure, workersUnavailable } from './workers.js';
import { checkTask, TASKS, type CheckArgs, type PresetRow, type PresetsArgs } from './tasks.js';
import type { BrowserCheckResult } from './check.js';
import type { CheckProgress } from '../check/schema.js';

export { ssim, ssimGrad } from '../runtime/ssim.js';
export { evaluateVariant, type VariantOptions, type VariantResult } from '../runtime/variants.js';
export { checkGradient } from '../check/diagnose.js';
export { formatCheckReport } from '../check/report.js';
export { checkCandidate, readCandidate, type BrowserCheckInput, type BrowserCheckResult, type CandidateSource } from './check.js';
export { presetDataRange, type CheckArgs, type PresetRow, type PresetsArgs, type TaskOptions } from './tasks.js';
export { loadVariantSource, setLibraryUrl, type VariantSource } from './variant-source.js';
export { setWorkerUrl, workersUnavailable } from './workers.js';
export { hasWebgpu, webgpuDevice } from './gpu.js';
export { parseNpy, formatNpy, type LoadedTensor } from '../io/npy.js';
export { decodePng, isPng } from '../io/png-decode.js';
export { PRESETS, PRESET_DEFAULTS, resolveOptions, validateOptions, type PresetName, type SsimConfig, type SsimOptions } from '../model/options.js';
export { VARIANT_NAMES } from '../variants/registry.js';
export { defineVariant } from '../variants/define.js';
export { InputError, type Tensor } from '../field/index.js';
export { NonFiniteError } from '../model/finite.js';
export type { CheckInput, CheckReport, CheckResult, Diagnosis } from '../check/schema.js';
export { PARALLEL_MIN_PIXELS, type ParallelOptions } from '../runtime/_internals/parallel-core.js';

/** `ssim` on web workers: the same number, bit for bit; one thread where no worker runs. */
export async function ssimAsync(x: Tensor, y: Tensor, options: SsimOptions = {}, parallel: ParallelOptions = {}): Promise<number> {
  try {
    return await parallelSsim(WEB_WORKERS, x, y, options, parallel);
  } catch (e) {
    if (e instanceof WorkerFailure) return ssimCpu(x, y, options);
    throw e;
  }
}

/** `ssimGradFast` on web workers (d/dy skipped when `wrt` is 'x'), bit-identical to one thread; one thread where no worker runs. */
export async function ssimGradFastAsync(
  x: Tensor,
  y: Tensor,
  options: SsimOptions = {},
  precision: Precision = 'float64',
  wrt: 'x' | 'both' = 'both',
  parallel: ParallelOptions = {},
): Promise<{ ssim: number; gradX: Tensor; gradY: Tensor | null }> {
  try {
    return await parallelSsimGradFast(WEB_WORKERS, x, y, options, precision, wrt, parallel);
  } catch (e) {
    if (e instanceof WorkerFailure) return parallelSsimGradFast(WEB_WORKERS, x, y, options, precision, wrt, { ...parallel, threads: 1 });
    throw e;
  }
}

/** `ssimGrad` on web workers: SSIM and both exact gradients, bit-identical to `ssimGrad`. */
export async function ssimGradAsync(x: Tensor, y: Tensor, options: SsimOptions = {}, parallel: ParallelOptions = {}): Promise<{ ssim: number; gradX: Tensor; gradY: Tensor }> {
  const r = await ssimGradFastAsync(x, y, options, resolveOptions(options).precision, 'both', parallel);
  return { ssim: r.ssim, gradX: r.gradX, gradY: r.gradY! };
}

/** Ends the web workers now (the next parallel call starts new ones). */
export function terminateWorkers(): void {
  terminateWebWorkers();
}

/** What ran: the WGSL kernels on WebGPU (float32), the CPU kernels on web workers, or on the calling thread. */
export type Backend = 'webgpu' | 'workers' | 'cpu';

/** How `ssimAuto` and `ssimGradAuto` choose. */
export interface AutoOptions extends ParallelOptions {
  /** 'auto' (default): WebGPU where there is an adapter, else the CPU kernels; or one of them. */
  readonly backend?: 'auto' | 'webgpu' | 'cpu';
}

/** The result of `ssimAuto` and `ssimGradAuto`: the values, what ran, and why WebGPU did not where it did not. */
export interface AutoResult {
  readonly ssim: number;
  readonly backend: Backend;
  /** Why the CPU ran under 'auto' (no navigator.gpu, no adapter, an error on the device). */
  readonly fallback?: string;
}

const cpuBackend = (parallel: ParallelOptions, x: Tensor): Backend =>
  workersUnavailable() === null && (parallel.threads ?? 'auto') !== 1 && x.data.length >= (parallel.minPixels ?? 1 << 16) ? 'workers' : 'cpu';

async function onGpuOrCpu<T>(auto: AutoOptions, gpu: () => Promise<T>, cpu: () => Promise<T>, x: Tensor): Promise<T & AutoResult> {
  const want = auto.backend ?? 'auto';
  let fallback: string | undefined;
  if (want !== 'cpu') {
    if (want === 'webgpu' || hasWebgpu()) {
      try {
        return { ...(await gpu()), backend: 'webgpu' } as T & AutoResult;
      } catch (e) {
        // bad input is the user's whichever backend runs; anything else on 'auto' falls back to the CPU
        if (want === 'webgpu' || (e as Error).name === 'InputError' || (e as Error).name === 'NonFiniteError') throw e;
        fallback = `WebGPU: ${(e as Error).message}`;
      }
    } else fallback = 'WebGPU: navigator.gpu is missing';
  }
  const backend = cpuBackend(auto, x);
  return { ...(await cpu()), backend, ...(fallback === undefined ? {} : { fallback }) } as T & AutoResult;
}

/** SSIM on WebGPU where the browser has it (float32), else on the CPU kernels (web workers for large images); says which ran. */
export function ssimAuto(x: Tensor, y: Tensor, options: SsimOptions = {}, auto: AutoOptions = {}): Promise<AutoResult> {
  resolveOptions(options);
  return onGpuOrCpu(auto, async () => ({ ssim: (await ssimOnGpu(x, y, options, false)).ssim }), async () => ({ ssim: await ssimAsync(x, y, options, auto) }), x);
}

/** SSIM and both exact gradients on WebGPU where the browser has it (float32), else on the CPU kernels; says which ran. */
export function ssimGradAuto(x: Tensor, y: Tensor, options: SsimOptions = {}, auto: AutoOptions = {}): Promise<AutoResult & { gradX: Tensor; gradY: Tensor }> {
  resolveOptions(options);
  return onGpuOrCpu(
    auto,
    async () => {
      const r = await ssimOnGpu(x, y, options, true);
      return { ssim: r.ssim, gradX: r.gradX!, gradY: r.gradY! };
    },
    () => ssimGradAsync(x, y, options, auto),
    x,
  );
}

/** The SSIM map (one value per window position, after MATLAB's downsampling), as a tensor N x C x MH x MW; float64 reference. */
export function ssimMap(x: Tensor, y: Tensor, options: SsimOptions = {}): Tensor {
  const e = evaluateSsim(x, y, options);
  return { shape: [...e.window.outShape], data: e.map };
}

/** Where a task ran. */
type Ran<T> = T & { readonly ranOn: 'worker' | 'page' };

async function onWorker<A, T>(task: string, args: A, here: (a: A, p?: CheckProgress) => Promise<T>, progress?: CheckProgress): Promise<Ran<T>> {
  if (workersUnavailable() === null) {
    try {
      return { ...(await runTask<T>(task, args, progress)), ranOn: 'worker' };
    } catch (e) {
      if (!(e instanceof WorkerFailure)) throw e;
    }
  }
  return { ...(await here(args, progress)), ranOn: 'page' };
}

/** `checkCandidate` on a web worker, with its progress (on the calling thread where no worker runs). */
export function checkCandidateAsync(args: CheckArgs, progress?: CheckProgress): Promise<Ran<BrowserCheckResult>> {
  return onWorker('check', args, checkTask, progress);
}

/** SSIM (and the variant's value) under every preset: the table of why the libraries disagree; on a web worker where one runs. */
export async function presetTable(args: PresetsArgs, progress?: CheckProgress): Promise<{ rows: PresetRow[]; ranOn: 'worker' | 'page' }> {
  const r = await onWorker('presets', args, TASKS['presets'] as (a: PresetsArgs, p?: CheckProgress) => Promise<{ rows: PresetRow[] }>, progress);
  return { rows: r.rows, ranOn: r.ranOn };
}
