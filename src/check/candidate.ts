/**
 * Loading a candidate gradient: a tensor file (.npy, .json) with X's shape, or a JavaScript or
 * TypeScript module exporting `gradient(x, y, options)`. Every way it can be wrong is an
 * InputError naming the file (exit code 2).
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError, type Tensor } from '../field/index.js';
import { readTensor } from '../io/index.js';
import { MSSSIM_WEIGHTS, resolveOptions, type SsimOptions, type VariantOptions } from '../ssim/index.js';

/** A candidate as the checker takes it. */
export interface LoadedCandidate {
  readonly data: Float64Array;
  /** Stored or returned as float32 (a float32 .npy, or a Float32Array from the module). */
  readonly float32: boolean;
  readonly source: 'file' | 'module';
}

/** The module interface a candidate implements. */
export type GradientFunction = (x: Tensor, y: Tensor, options: SsimOptions) => Tensor | { shape: readonly number[]; data: ArrayLike<number> } | Promise<unknown>;

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Every option filled from the preset, so that a candidate module needs no preset table of its own. */
export function fullOptions(options: VariantOptions): VariantOptions {
  const c = resolveOptions(options);
  const full: VariantOptions = {
    preset: c.preset, window: c.window, size: c.size, sigma: c.sigma, k1: c.k1, k2: c.k2, dataRange: c.dataRange,
    padding: c.padding, sampleCovariance: c.sampleCovariance, crop: c.crop, skipShortAxes: c.skipShortAxes,
    downsample: c.downsample, reduction: c.reduction,
  };
  // a variant's candidate is told the variant and its options, defaults filled
  const v = options.variant;
  if (v === undefined || v === 'ssim') return full;
  full.variant = v;
  if (v === 'ms-ssim') full.weights = [...(options.weights ?? MSSSIM_WEIGHTS)];
  if (v === '3dgs-loss') full.lambda = options.lambda ?? 0.2;
  if (v === 'dssim') full.dssimDivisor = options.dssimDivisor ?? 2;
  if (v === 'wang') Object.assign(full, { alpha: options.alpha ?? 1, beta: options.beta ?? 1, gamma: options.gamma ?? 1 });
  return full;
}

function checkValues(path: string, shape: readonly number[], data: ArrayLike<number>, x: Tensor): Float64Array {
  if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
    throw new InputError(`${path}: shape [${shape.join(', ')}] differs from X's shape [${x.shape.join(', ')}]`);
  }
  if (data.length !== x.data.length) throw new InputError(`${path}: shape [${shape.join(', ')}] needs ${x.data.length} values, got ${data.length}`);
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${path}: value at flat index ${i} is ${String(v)}, expected a finite number`);
    out[i] = v;
  }
  return out;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(path)).href;
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
      // a user's TypeScript runs without a build step
      const { tsImport } = await import('tsx/esm/api');
      return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    }
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${path}: cannot load the module (${firstLine(e)})`);
  }
}

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0]!;

/** Reads or computes the candidate gradient for images x, y under the options. */
export async function loadCandidate(path: string, x: Tensor, y: Tensor, options: VariantOptions): Promise<LoadedCandidate> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy' || ext === '.json') {
    const t = readTensor(path);
    return { data: checkValues(path, t.shape, t.data, x), float32: t.dtype === 'float32', source: 'file' };
  }
  if (!MODULE_EXTENSIONS.includes(ext)) {
    throw new InputError(`${path}: unknown candidate type '${ext}', expected a gradient as .npy (or .json) or a module (.ts, .js, .mjs) exporting gradient(x, y, options)`);
  }
  if (!existsSync(path)) throw new InputError(`${path}: cannot read (no such file)`);
  const mod = await importModule(path);
  // tsx hands CommonJS-shaped TypeScript back under `default`
  const f = mod['gradient'] ?? (mod['default'] as Record<string, unknown> | undefined)?.['gradient'];
  if (typeof f !== 'function') throw new InputError(`${path}: exports no function 'gradient' (expected export function gradient(x, y, options) returning {shape, data})`);
  const copy = (t: Tensor): Tensor => ({ shape: [...t.shape], data: t.data.slice() });
  let r: unknown;
  try {
    r = await (f as GradientFunction)(copy(x), copy(y), fullOptions(options));
  } catch (e) {
    throw new InputError(`${path}: gradient() threw: ${firstLine(e)}`);
  }
  const t = r as { shape?: unknown; data?: unknown } | null;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.shape) || t.data === null || typeof t.data !== 'object' || typeof (t.data as ArrayLike<number>).length !== 'number') {
    throw new InputError(`${path}: gradient() returned ${describe(r)}, expected a tensor {shape, data} with X's shape [${x.shape.join(', ')}]`);
  }
  const data = checkValues(`${path}: gradient()`, t.shape as number[], t.data as ArrayLike<number>, x);
  return { data, float32: t.data instanceof Float32Array, source: 'module' };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v as object).join(', ') || '(none)'}`;
  return typeof v;
}
