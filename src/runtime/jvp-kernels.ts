/**
 * Plain SSIM's JVP and HVP on the generated kernels (src/generated/derivatives.ts, printed from
 * src/emit/cpu-derivatives.ts): what ssimJvp, ssimHvp, variantJvp and variantHvp run for plain SSIM
 * in float64 or float32 storage. The graph interpreter (src/graph/forward.ts) stays the oracle in
 * tests and runs everything else (emulated float32 arithmetic, every other variant). MATLAB's
 * downsampling runs as a field operator before the kernel (on the images and the direction) and its
 * transpose after it (on the gradient and the HVP).
 */
import type { KernelParams } from '../emit/params.js';
import { sizeOf, type Precision, type Tensor } from '../field/index.js';
import { ssimDerivativeKernels } from '../generated/derivatives.js';
import { mapLength } from '../model/geometry.js';
import { kernelVariant, storage, toInputGrid, type KernelPlan } from './fast.js';

/** The map and its tangent at every window position (N x C x MH x MW), as ssimJvp returns them. */
export interface KernelMapTangent {
  readonly label: string;
  readonly shape: readonly number[];
  readonly value: Float64Array;
  readonly tangent: Float64Array;
}

/** A direction as the kernel's storage (downsampled with the images), zero where not given. */
function directionStorage(d: Float64Array | null, shape: readonly number[], plan: KernelPlan, precision: Precision, what: string): Float64Array | Float32Array {
  return storage({ shape: [...shape], data: d ?? new Float64Array(sizeOf(shape)) }, plan, precision, what);
}

const kernelsOf = (p: KernelParams) => ssimDerivativeKernels[kernelVariant(p)];

/**
 * SSIM, its directional derivative in the direction (dx, dy) (null: that image does not move) and,
 * `withMap`, the SSIM map with its tangent, on the JVP kernel. Float32 storage rounds the inputs and stores
 * the derivative, the map and its tangent as float32 (float64 arithmetic).
 */
export function ssimJvpOnKernels(
  x: Tensor,
  y: Tensor,
  dx: Float64Array | null,
  dy: Float64Array | null,
  plan: KernelPlan,
  precision: Precision,
  withMap: boolean,
): { ssim: number; jvp: number; map: KernelMapTangent | null } {
  const p = plan.params;
  const k = kernelsOf(p);
  const n = withMap ? p.N * p.C * mapSize(p) : 0;
  const tangent = new Float64Array(1);
  const [xs, ys] = [storage(x, plan, precision, 'x'), storage(y, plan, precision, 'y')];
  const [ds, es] = [directionStorage(dx, x.shape, plan, precision, 'dx'), directionStorage(dy, x.shape, plan, precision, 'dy')];
  let s: number;
  let map: Float64Array;
  let mapTangent: Float64Array;
  if (precision === 'float32') {
    const out = { tangent, map: withMap ? new Float32Array(n) : null, mapTangent: withMap ? new Float32Array(n) : null };
    s = k.jvpF32(xs as Float32Array, ys as Float32Array, ds as Float32Array, es as Float32Array, p, out);
    [map, mapTangent] = [Float64Array.from(out.map ?? []), Float64Array.from(out.mapTangent ?? [])];
  } else {
    const out = { tangent, map: withMap ? new Float64Array(n) : null, mapTangent: withMap ? new Float64Array(n) : null };
    s = k.jvpF64(xs as Float64Array, ys as Float64Array, ds as Float64Array, es as Float64Array, p, out);
    [map, mapTangent] = [out.map ?? new Float64Array(0), out.mapTangent ?? new Float64Array(0)];
  }
  const [MH, MW] = mapShape(p);
  const jvp = precision === 'float32' ? Math.fround(tangent[0]!) : tangent[0]!;
  return { ssim: s, jvp, map: withMap ? { label: 'S', shape: [p.N, p.C, MH, MW], value: map, tangent: mapTangent } : null };
}

/**
 * SSIM, and for each image of `wrt` its gradient and the Hessian's row times the direction (vx, vy)
 * (null: zero), on the HVP kernel: y's row is x's row of SSIM(y, x) (S is symmetric in x and y).
 */
export function ssimHvpOnKernels(
  x: Tensor,
  y: Tensor,
  vx: Float64Array | null,
  vy: Float64Array | null,
  plan: KernelPlan,
  precision: Precision,
  wrt: 'x' | 'y' | 'both',
): { ssim: number; gradX: Float64Array | null; gradY: Float64Array | null; hvpX: Float64Array | null; hvpY: Float64Array | null } {
  const p = plan.params;
  const k = kernelsOf(p);
  const swap = wrt === 'y';
  const [a, b] = swap ? [y, x] : [x, y];
  const [va, vb] = swap ? [vy, vx] : [vx, vy];
  const withB = wrt === 'both';
  const as = storage(a, plan, precision, swap ? 'y' : 'x');
  const bs = storage(b, plan, precision, swap ? 'x' : 'y');
  const das = directionStorage(va, x.shape, plan, precision, swap ? 'v.y' : 'v.x');
  const dbs = directionStorage(vb, x.shape, plan, precision, swap ? 'v.x' : 'v.y');
  const n = as.length;
  let s: number;
  let out: { gradX: Float64Array | Float32Array; hvpX: Float64Array | Float32Array; gradY: Float64Array | Float32Array | null; hvpY: Float64Array | Float32Array | null };
  if (precision === 'float32') {
    const o = { gradX: new Float32Array(n), hvpX: new Float32Array(n), gradY: withB ? new Float32Array(n) : null, hvpY: withB ? new Float32Array(n) : null };
    s = k.hvpF32(as as Float32Array, bs as Float32Array, das as Float32Array, dbs as Float32Array, p, o);
    out = o;
  } else {
    const o = { gradX: new Float64Array(n), hvpX: new Float64Array(n), gradY: withB ? new Float64Array(n) : null, hvpY: withB ? new Float64Array(n) : null };
    s = k.hvpF64(as as Float64Array, bs as Float64Array, das as Float64Array, dbs as Float64Array, p, o);
    out = o;
  }
  const [ga, gb] = toInputGrid(plan, precision, out.gradX, out.gradY);
  const [ha, hb] = toInputGrid(plan, precision, out.hvpX, out.hvpY);
  const f64 = (v: Float64Array | Float32Array | null): Float64Array | null => (v === null ? null : v instanceof Float64Array ? v : Float64Array.from(v));
  if (swap) return { ssim: s, gradX: null, gradY: f64(ga), hvpX: null, hvpY: f64(ha) };
  return { ssim: s, gradX: f64(ga), gradY: f64(gb), hvpX: f64(ha), hvpY: f64(hb) };
}

/** The map's height and width (mapLength: the image's, or under 'valid' one value per window that fits). */
const mapShape = (p: KernelParams): [number, number] => [mapLength(p.padding, p.H, p.tapsH.length), mapLength(p.padding, p.W, p.tapsW.length)];

const mapSize = (p: KernelParams): number => mapShape(p)[0] * mapShape(p)[1];
