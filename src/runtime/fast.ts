/**
 * SSIM on the generated kernels (src/generated): the public `ssim` and `ssimGrad` run here. The
 * float64 reference (reference.ts) stays the oracle in tests. Options resolve exactly as for the
 * reference; MATLAB's downsampling runs as a field operator before the kernel (and its
 * transpose after it).
 */
import type { KernelParams } from '../emit/params.js';
import { boxDownsample, InputError, shape4, sizeOf, toField, PRECISIONS, type LinearOp, type Precision, type Shape4, type Tensor } from '../field/index.js';
import { ssimKernels, unrolledSizes } from '../generated/index.js';
import { downsampleFactor, mapGeometry, resolveOptions, type SsimConfig, type SsimOptions } from '../model/options.js';
import { FLOAT32_MAX, requireFinite } from '../model/finite.js';

export interface KernelPlan {
  readonly config: SsimConfig;
  readonly shape: Shape4;
  readonly downsample: LinearOp | null;
  readonly params: KernelParams;
}

/** Validates the inputs and works out the kernel parameters (mirrors the reference's checks). */
export function planKernel(x: Tensor, y: Tensor, options: SsimOptions): KernelPlan {
  const config = resolveOptions(options);
  const shape = shape4(x, 'x');
  const sy = shape4(y, 'y');
  if (shape.join() !== sy.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const [N, C, H0, W0] = shape;
  const f = downsampleFactor(config, H0, W0);
  const downsample = f > 1 ? boxDownsample(shape, f) : null;
  const [, , H, W] = downsample?.outShape ?? shape;
  const { tapsH, tapsW, crop, omega } = mapGeometry(config, H, W, f, N * C);
  // the kernels pair mirrored taps; every window ssim-grad builds is symmetric
  for (const t of [tapsH, tapsW]) {
    if (!t.every((v, i) => v === t[t.length - 1 - i])) throw new Error('planKernel: the generated kernels need symmetric taps');
  }
  return {
    config,
    shape,
    downsample,
    params: { N, C, H, W, padding: config.padding, tapsH, tapsW, C1: config.C1, C2: config.C2, c_n: config.covNorm, crop, omega },
  };
}

function checkFinite(t: Tensor, what: string): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) throw new InputError(`${what}: value at flat index ${i} is ${d[i]}, expected a finite number`);
  }
}

/**
 * The input as the kernel's storage: as given when it already is, else converted (and downsampled).
 * Internal (the worker-thread path shares it); not re-exported by the library.
 */
export function storage(t: Tensor, plan: KernelPlan, precision: Precision, what: string): Float64Array | Float32Array {
  checkFinite(t, what);
  if (plan.downsample !== null) {
    const d = plan.downsample.apply(toField(t, what).data);
    return precision === 'float32' ? Float32Array.from(d) : d;
  }
  if (precision === 'float32') return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  return t.data instanceof Float64Array ? t.data : Float64Array.from(t.data);
}

/** Which kernels of a boundary rule's family a plan runs: unrolled for the window size when there are such, else the generic loops. */
export function kernelVariant(params: KernelParams): 'k7' | 'k11' | 'generic' {
  const k = params.tapsH.length;
  return k === params.tapsW.length && unrolledSizes.includes(k) ? (`k${k}` as 'k7' | 'k11') : 'generic';
}

/** Gradients on the kernel's grid carried back to the input's: D^T (in float64) after MATLAB's downsampling, else as they are. */
export function toInputGrid<G extends Float64Array | Float32Array>(
  plan: KernelPlan, precision: Precision, gx: G, gy: G | null,
): [Float64Array | Float32Array, Float64Array | Float32Array | null] {
  if (plan.downsample === null) return [gx, gy];
  const back = (g: Float64Array | Float32Array): Float64Array | Float32Array => {
    const full = plan.downsample!.transpose(Float64Array.from(g));
    return precision === 'float32' ? Float32Array.from(full) : full;
  };
  return [back(gx), gy === null ? null : back(gy)];
}

/** The kernels for a plan (see kernelVariant). */
function kernelsFor(plan: KernelPlan) {
  return ssimKernels[plan.config.padding][kernelVariant(plan.params)];
}

/** That the precision is one there is, and that float32 storage holds the values (a larger one would be Infinity). */
export function checkPrecision(precision: unknown, x: Tensor, y: Tensor): asserts precision is Precision {
  if (!(PRECISIONS as readonly unknown[]).includes(precision)) throw new InputError(`precision: got ${String(precision)}, expected float64 or float32`);
  if (precision === 'float64') return;
  for (const [t, what] of [[x, 'x'], [y, 'y']] as const) {
    for (let i = 0; i < t.data.length; i++) {
      if (Math.abs(t.data[i]!) > FLOAT32_MAX) {
        throw new InputError(`${what}: value at flat index ${i} is ${t.data[i]}, beyond float32's largest ${FLOAT32_MAX.toExponential(2)}, which precision 'float32' stores the images in`);
      }
    }
  }
}

/** SSIM on the generated value kernel; a result that is not finite is a NonFiniteError naming its cause. */
export function ssimFast(x: Tensor, y: Tensor, options: SsimOptions = {}, precision: Precision = 'float64'): number {
  const plan = planKernel(x, y, options);
  checkPrecision(precision, x, y);
  const k = kernelsFor(plan);
  const xs = storage(x, plan, precision, 'x');
  const ys = storage(y, plan, precision, 'y');
  const s = precision === 'float32' ? k.valueF32(xs as Float32Array, ys as Float32Array, plan.params) : k.valueF64(xs as Float64Array, ys as Float64Array, plan.params);
  return requireFinite(s, plan.config, x, y);
}

/**
 * SSIM and its exact gradients on the generated value-and-gradient kernel. `wrt` 'x' skips the
 * work for d/dy (gradY is then null). Gradients come back in the storage precision, with x's shape.
 */
export function ssimGradFast(
  x: Tensor,
  y: Tensor,
  options: SsimOptions = {},
  precision: Precision = 'float64',
  wrt: 'x' | 'both' = 'both',
): { ssim: number; gradX: Tensor; gradY: Tensor | null } {
  const plan = planKernel(x, y, options);
  checkPrecision(precision, x, y);
  if (wrt !== 'x' && wrt !== 'both') throw new InputError(`wrt: got ${String(wrt)}, expected 'x' or 'both'`);
  const k = kernelsFor(plan);
  const xs = storage(x, plan, precision, 'x');
  const ys = storage(y, plan, precision, 'y');
  const n = xs.length;
  let s: number;
  let gx: Float64Array | Float32Array;
  let gy: Float64Array | Float32Array | null;
  if (precision === 'float32') {
    const out = { gradX: new Float32Array(n), gradY: wrt === 'both' ? new Float32Array(n) : null };
    s = k.gradF32(xs as Float32Array, ys as Float32Array, plan.params, out);
    [gx, gy] = [out.gradX, out.gradY];
  } else {
    const out = { gradX: new Float64Array(n), gradY: wrt === 'both' ? new Float64Array(n) : null };
    s = k.gradF64(xs as Float64Array, ys as Float64Array, plan.params, out);
    [gx, gy] = [out.gradX, out.gradY];
  }
  [gx, gy] = toInputGrid(plan, precision, gx, gy);
  const shape = [...x.shape];
  if (sizeOf(shape) !== gx.length) throw new Error('ssimGradFast: gradient size does not match the input');
  requireFinite(s, plan.config, x, y, [['d ssim/dx', gx], ['d ssim/dy', gy]]);
  return { ssim: s, gradX: { shape, data: gx }, gradY: gy === null ? null : { shape, data: gy } };
}


/**
 * The exact gradient computed the way a float32 kernel computes it: inputs, taps and constants
 * rounded to float32 and Math.fround after every operation (the generated F32Arith kernel). Its
 * distance from the float64 gradient is the rounding floor a float32 implementation cannot beat.
 */
export function ssimGradFloat32Arith(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Float64Array; gradY: Float64Array } {
  const r = float32Arith(x, y, options, true);
  return { ssim: r.ssim, gradX: Float64Array.from(r.gradX), gradY: Float64Array.from(r.gradY!) };
}

/**
 * d ssim/dx alone as ssimGradFloat32Arith computes it, without d/dy's work and left in float32
 * storage (the same values): the checker's floor on large images, at the cost of one kernel run.
 */
export function ssimGradXFloat32Arith(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Float32Array | Float64Array } {
  const r = float32Arith(x, y, options, false);
  return { ssim: r.ssim, gradX: r.gradX };
}

function float32Arith(x: Tensor, y: Tensor, options: SsimOptions, withY: boolean): { ssim: number; gradX: Float32Array | Float64Array; gradY: Float32Array | Float64Array | null } {
  const plan = planKernel(x, y, options);
  const f = Math.fround;
  const p = plan.params;
  const params: KernelParams = {
    ...p,
    tapsH: Float64Array.from(Float32Array.from(p.tapsH)),
    tapsW: Float64Array.from(Float32Array.from(p.tapsW)),
    C1: f(p.C1),
    C2: f(p.C2),
    c_n: f(p.c_n),
    omega: f(p.omega),
  };
  const xs = storage(x, plan, 'float32', 'x') as Float32Array;
  const ys = storage(y, plan, 'float32', 'y') as Float32Array;
  const out = { gradX: new Float32Array(xs.length), gradY: withY ? new Float32Array(xs.length) : null };
  const s = ssimKernels[plan.config.padding].gradF32Arith(xs, ys, params, out);
  const back = (g: Float32Array): Float32Array | Float64Array => (plan.downsample === null ? g : plan.downsample.transpose(Float64Array.from(g)));
  return { ssim: s, gradX: back(out.gradX), gradY: out.gradY === null ? null : back(out.gradY) };
}
