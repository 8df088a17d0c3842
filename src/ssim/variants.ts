/**
 * SSIM's variants, each written through the same graph and operators as SSIM, so each gets its
 * exact gradient with respect to both images:
 *
 * - `ms-ssim`: multi-scale SSIM. At scales j < J-1 the per-channel mean of cs = A2/B2, at the
 *   last the per-channel mean of S; each passed through relu, raised to its weight and
 *   multiplied; the mean over channels and images. Between scales both images are 2 x 2
 *   average-pooled: with a zero row/column in front of an odd size (pytorch-msssim,
 *   VainF/pytorch-msssim pytorch_msssim/ssim.py `ms_ssim`), or the last one repeated
 *   (`tf.image.ssim_multiscale`, tensorflow/python/ops/image_ops_impl.py) for the tf preset.
 * - `dssim`: (1 - SSIM) / d with d = 2 (default) or 1.
 * - `3dgs-loss`: the 3D Gaussian splatting loss (graphdeco-inria/gaussian-splatting train.py),
 *   (1 - lambda) mean|x - y| + lambda (1 - SSIM), lambda = 0.2 by default, x the rendering.
 * - `wang`: the general form l^alpha c^beta s^gamma of Wang et al. 2004 (maps.ts, `wangMap`).
 */
import { avgPool2x2, InputError, shape4, sizeOf, toField, type Shape4, type Tensor } from '../field/index.js';
import { csMap, planeMeans, ssimMap, wangMap } from './maps.js';
import { mapGeometry, PRESET_DEFAULTS, resolveOptions, type SsimOptions } from './options.js';
import { planKernel, ssimFast, ssimGradFast } from './fast.js';
import { csKernels, ssimKernels, wangKernels } from '../generated/index.js';
import { resolveVariant, VARIANT_NAMES, type VariantRef } from '../variants/registry.js';
import { MSSSIM_WEIGHTS } from '../variants/ms-ssim.js';
import { plainSsimOf, runVariant, variantGraph } from '../variants/evaluate.js';

/** A variant's name: a built-in (src/variants/registry.ts) or a user's declaration's. */
export type Variant = string;
/** The built-in variants' names. */
export const VARIANTS: readonly string[] = VARIANT_NAMES;

export { MSSSIM_WEIGHTS };

export interface VariantOptions extends SsimOptions {
  /** The variant: a built-in's name, or a declaration (`defineVariant`, `--variant-file`). */
  variant?: VariantRef;
  /** MS-SSIM: one weight per scale (their count is the number of scales). */
  weights?: readonly number[];
  /** 3DGS loss: the weight of the (1 - SSIM) term. */
  lambda?: number;
  /** DSSIM: (1 - SSIM) / dssimDivisor, 2 (default) or 1. */
  dssimDivisor?: 1 | 2;
  /** Wang's general form: the exponents of luminance, contrast and structure (default 1 each). */
  alpha?: number;
  beta?: number;
  gamma?: number;
  /** A variant's own options by the keys it declares (numbers, lists of numbers, tensors): how a user's variant takes its options. */
  variantOptions?: Readonly<Record<string, unknown>>;
}

/** A variant's value (the quantity differentiated), the plain SSIM beside it, and the gradients. */
export interface VariantResult {
  readonly value: number;
  readonly ssim: number;
  readonly gradX: Float64Array;
  readonly gradY: Float64Array;
}

/** Validates the variant and its options (exit-2 errors naming the option); returns the variant's name. */
export function checkVariantOptions(o: VariantOptions): Variant {
  return resolveVariant(o).decl.name;
}

/** Evaluates the variant and its exact gradients in float64: reverse mode over its graph (src/graph). */
export function evaluateVariant(x: Tensor, y: Tensor, options: VariantOptions = {}): VariantResult {
  const g = variantGraph(x, y, options);
  const r = runVariant(g, { wrt: ['x', 'y'] });
  const ssim = plainSsimOf(g, r) ?? ssimFast(x, y, g.variant.ssimOptions, 'float64');
  return { value: r.value[0]!, ssim, gradX: r.grads.x!, gradY: r.grads.y! };
}

/**
 * Wang's general form: the mean over the region of l^alpha c^beta s^gamma, and its gradient, on
 * its generated kernels (the exponents are kernel parameters), or on the reference path (the
 * exponents exact rationals in the graph, the window operators of src/field).
 */
export function wang(x: Tensor, y: Tensor, options: VariantOptions, engine: 'kernels' | 'reference' = 'kernels'): VariantResult {
  const config = resolveOptions(options);
  const shape = shape4(x, 'x');
  if (shape4(y, 'y').join() !== shape.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const [alpha, beta, gamma] = [options.alpha ?? 1, options.beta ?? 1, options.gamma ?? 1];
  const plain = ssimFast(x, y, options, 'float64');
  if (engine === 'kernels') {
    const plan = planKernel(x, y, { ...options, precision: 'float64' });
    const { tapsH, tapsW } = plan.params;
    const family = wangKernels[config.padding][tapsH.length === 11 && tapsW.length === 11 ? 'k11' : 'generic'];
    const out = { gradX: new Float64Array(sizeOf(shape)), gradY: new Float64Array(sizeOf(shape)) };
    const value = family.grad(toField(x, 'x').data, toField(y, 'y').data, { ...plan.params, alpha, beta, gamma }, out);
    return { value, ssim: plain, gradX: out.gradX, gradY: out.gradY };
  }
  const [N, C] = shape;
  const map = wangMap(alpha, beta, gamma);
  const P = N * C;
  const w = new Float64Array(P).fill(config.reduction === 'mean' ? 1 / P : 1);
  const r = planeMeans(toField(x, 'x').data, toField(y, 'y').data, shape, config, map, w);
  const value = r.means.reduce((a, m, p) => a + w[p]! * m, 0);
  return { value, ssim: plain, gradX: r.gradX!, gradY: r.gradY! };
}

/**
 * One scale of MS-SSIM on the generated kernels: per-plane means of S or cs over the region, and,
 * with weights, the gradient of sum_p weights[p] mean_p (the kernels take a weight per plane).
 */
function scaleOnKernels(
  x: Float64Array,
  y: Float64Array,
  shape: Shape4,
  options: VariantOptions,
  map: 'S' | 'cs',
  weights: Float64Array | null,
): { means: Float64Array; gradX: Float64Array | null; gradY: Float64Array | null } {
  const X = { shape: [...shape], data: x };
  const Y = { shape: [...shape], data: y };
  const plan = planKernel(X, Y, { ...options, precision: 'float64' });
  const { N, C, H, W, tapsH, tapsW } = plan.params;
  const { region } = mapGeometry(plan.config, H, W);
  const unrolled = tapsH.length === 11 && tapsW.length === 11;
  const family = map === 'cs' ? csKernels[plan.config.padding][unrolled ? 'k11' : 'generic'] : null;
  const ssimFamily = ssimKernels[plan.config.padding][unrolled ? 'k11' : 'generic'];
  const planeSums = new Float64Array(N * C);
  if (weights === null) {
    const params = { ...plan.params, planeSums };
    if (family !== null) family.value(x, y, params);
    else ssimFamily.valueF64(x, y, params);
    return { means: planeSums.map((v) => v / region), gradX: null, gradY: null };
  }
  const params = { ...plan.params, planeSums, planeOmega: weights.map((v) => v / region) };
  const out = { gradX: new Float64Array(x.length), gradY: new Float64Array(x.length) };
  if (family !== null) family.grad(x, y, params, out);
  else ssimFamily.gradF64(x, y, params, out);
  return { means: planeSums.map((v) => v / region), gradX: out.gradX, gradY: out.gradY };
}

/** MS-SSIM's pieces, for the derivation's checks: per-plane products, and at the finest scale its own term and what the pooling brings back. */
export interface MsSsimParts {
  /** Per scale, per plane: the mean of cs (S at the coarsest), and d value / d mean. */
  readonly means: readonly Float64Array[];
  readonly dMeans: readonly Float64Array[];
  readonly weights: readonly number[];
  readonly perPlane: Float64Array;
  readonly ownX: Float64Array;
  readonly backX: Float64Array;
}

function msSsim(x: Tensor, y: Tensor, options: VariantOptions): VariantResult {
  return msSsimParts(x, y, options).result;
}

/** MS-SSIM (see the module comment) and its gradient: the product rule across scales, pooling transposed between them. */
export function msSsimParts(
  x: Tensor,
  y: Tensor,
  options: VariantOptions,
  engine: 'kernels' | 'reference' = 'kernels',
): { result: VariantResult; parts: MsSsimParts } {
  const config = resolveOptions(options);
  const weights = options.weights ?? MSSSIM_WEIGHTS;
  const J = weights.length;
  const shape = shape4(x, 'x');
  if (shape4(y, 'y').join() !== shape.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const [N, C, H, W] = shape;
  const need = (config.size - 1) * 2 ** (J - 1);
  if (Math.min(H, W) <= need) {
    throw new InputError(`x: MS-SSIM with ${J} scales and a ${config.size}-tap window needs images larger than ${need} pixels on the shorter side, got ${H} x ${W}`);
  }
  const pooling = config.preset === 'tf' ? 'symmetric' : 'zero';
  // forward: the images at every scale, and the pooling between them
  const xs = [toField(x, 'x').data];
  const ys = [toField(y, 'y').data];
  const shapes = [shape];
  const pools = [];
  for (let j = 1; j < J; j++) {
    const pool = avgPool2x2(shapes[j - 1]!, pooling);
    pools.push(pool);
    xs.push(pool.apply(xs[j - 1]!));
    ys.push(pool.apply(ys[j - 1]!));
    shapes.push(pool.outShape);
  }
  const maps = xs.map((_, j) => (j === J - 1 ? ssimMap() : csMap()));
  const scale = (j: number, weights: Float64Array | null) =>
    engine === 'kernels' ? scaleOnKernels(xs[j]!, ys[j]!, shapes[j]!, options, j === J - 1 ? 'S' : 'cs', weights) : planeMeans(xs[j]!, ys[j]!, shapes[j]!, config, maps[j]!, weights);
  const P = N * C;
  const means = xs.map((_, j) => scale(j, null).means);
  // per plane: prod_j relu(m_j)^w_j, and d/dm_j of the mean over planes (relu's derivative is 0 at 0, as torch)
  let value = 0;
  const perPlane = new Float64Array(P);
  const dMeans = means.map(() => new Float64Array(P));
  for (let p = 0; p < P; p++) {
    const v = means.map((m) => Math.max(m[p]!, 0));
    const powers = v.map((vj, j) => vj ** weights[j]!);
    perPlane[p] = powers.reduce((a, b) => a * b, 1);
    value += perPlane[p]! / P;
    for (let j = 0; j < J; j++) {
      if (v[j]! <= 0) continue;
      const others = powers.reduce((a, b, i) => (i === j ? a : a * b), 1);
      dMeans[j]![p] = (others * weights[j]! * v[j]! ** (weights[j]! - 1)) / P;
    }
  }
  // backward: from the coarsest scale up, each scale's own gradient plus the pooled-back one
  let gx: Float64Array | null = null;
  let gy: Float64Array | null = null;
  let ownX: Float64Array = new Float64Array(0);
  let backX: Float64Array = new Float64Array(0);
  for (let j = J - 1; j >= 0; j--) {
    const g = scale(j, dMeans[j]!);
    const upX: Float64Array | null = gx === null ? null : pools[j]!.transpose(gx);
    const upY: Float64Array | null = gy === null ? null : pools[j]!.transpose(gy);
    if (j === 0) [ownX, backX] = [g.gradX!, upX ?? new Float64Array(g.gradX!.length)];
    gx = upX === null ? g.gradX! : g.gradX!.map((v, i) => v + upX[i]!);
    gy = upY === null ? g.gradY! : g.gradY!.map((v, i) => v + upY[i]!);
  }
  const plain = { ssim: ssimFast(x, y, options, 'float64') };
  if (sizeOf(shape) !== gx!.length) throw new Error('msSsim: gradient size');
  return { result: { value, ssim: plain.ssim, gradX: gx!, gradY: gy! }, parts: { means, dMeans, weights, perPlane, ownX, backX } };
}
