/**
 * Forward mode and second order in the library's terms: the JVP (a variant's directional
 * derivative, and the tangents of its windowed maps) and the HVP (its Hessian with respect to x,
 * y or both, times a vector), for every built-in variant and every user's declaration, through
 * the variant's field graph (src/graph/forward.ts) with every block walked as its fine graph, in
 * the three arithmetics of reverse mode. Plain SSIM in float64 and float32 storage runs on the
 * generated JVP and HVP kernels instead (jvp-kernels.ts); the interpreter is their oracle in tests.
 */
import { InputError, shape4, toField, type Shape4, type Tensor } from '../field/index.js';
import { describeValue, type SsimOptions } from '../model/options.js';
import { requireFinite, variantLossNote } from '../model/finite.js';
import { forwardTangents, hessianVector } from '../graph/forward.js';
import type { Arithmetic } from '../graph/evaluate.js';
import { topoOrder, type BlockNode } from '../graph/node.js';
import { variantGraph, type VariantGraph } from '../variants/evaluate.js';
import { bySsimKernels, resolveVariant } from '../variants/registry.js';
import { planKernel, type KernelPlan } from './fast.js';
import { ssimHvpOnKernels, ssimJvpOnKernels } from './jvp-kernels.js';
import type { VariantOptions } from './variants.js';

const ARITHMETICS: readonly Arithmetic[] = ['float64', 'float32-storage', 'float32'];

/** How forward mode and second order are computed: the arithmetic (reverse mode's three). */
export interface DerivativeArithmetic {
  /**
   * 'float64' (default); 'float32-storage': the images and directions rounded to float32, float64
   * arithmetic, the results stored as float32; 'float32': Math.fround after every operation.
   */
  arith?: Arithmetic;
}

/** Options of variantJvp: the variant's (as evaluateVariant takes them), the arithmetic, and whether to return the maps' tangents. */
export interface JvpOptions extends VariantOptions, DerivativeArithmetic {
  /** Also return every windowed map's value and tangent (the SSIM map's, for per-pixel residuals). */
  maps?: boolean;
}

/** A windowed map of the loss (S, cs, Wang's form) at every window position, and its tangent. */
export interface MapTangent {
  /** The map's name as the graph labels it (S, cs, wang). */
  readonly label: string;
  /** N x C x MH x MW: the window grid, uncropped. */
  readonly shape: readonly number[];
  readonly value: Float64Array;
  readonly tangent: Float64Array;
}

/** A JVP: the loss, its directional derivative, and with `maps` the tangents of its windowed maps (in the graph's order). */
export interface JvpResult {
  readonly value: number;
  /** d value in the direction (dx, dy): the gradient's inner product with it. */
  readonly jvp: number;
  readonly maps: readonly MapTangent[];
}

/** Options of variantHvp: the variant's, the arithmetic, and the rows of the Hessian. */
export interface HvpOptions extends VariantOptions, DerivativeArithmetic {
  /** The gradient and Hessian rows returned: 'x' (default), 'y' or 'both'. */
  wrt?: 'x' | 'y' | 'both';
}

/** An HVP: the loss, its gradient and the Hessian times the vector, for each image of `wrt` (null for the other). */
export interface HvpResult {
  readonly value: number;
  readonly gradX: Float64Array | null;
  readonly gradY: Float64Array | null;
  readonly hvpX: Float64Array | null;
  readonly hvpY: Float64Array | null;
}

/** The vector of an HVP: a tensor (the direction of the one image `wrt` names) or directions by image (one may be left out: zero). */
export type HvpVector = Tensor | { readonly x?: Tensor | null; readonly y?: Tensor | null };

function checkArith(a: unknown): Arithmetic {
  if (a === undefined) return 'float64';
  if (typeof a === 'string' && (ARITHMETICS as readonly string[]).includes(a)) return a as Arithmetic;
  throw new InputError(`arith: got ${describeValue(a)}, expected one of ${ARITHMETICS.join(', ')}`);
}

/** A direction for an image: a tensor of the image's shape, finite. */
function direction(t: Tensor | null | undefined, what: string, shape: Shape4, image: string): Float64Array | null {
  if (t === null || t === undefined) return null;
  if (shape4(t, what).join() !== shape.join()) throw new InputError(`${what}: shape [${t.shape}] differs from ${image}'s shape [${shape.join(', ')}]`);
  return toField(t, what).data;
}

const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v;

/** The variant's graph for the options without this module's own keys (which the variant's checks do not know). */
function graphOf(x: Tensor, y: Tensor, options: VariantOptions & { arith?: unknown; maps?: unknown; wrt?: unknown }): VariantGraph {
  const { arith: _a, maps: _m, wrt: _w, ...rest } = options;
  return variantGraph(x, y, rest);
}

/** The options without this module's own keys. */
function variantOptionsOf(options: VariantOptions & { arith?: unknown; maps?: unknown; wrt?: unknown }): VariantOptions {
  const { arith: _a, maps: _m, wrt: _w, ...rest } = options;
  return rest;
}

/**
 * The kernels' plan when the generated JVP and HVP kernels compute this: the variant the SSIM
 * kernels compute (its `computedBy` trait: plain SSIM) in float64 or float32 storage; null for the graph interpreter (emulated float32
 * arithmetic, every other variant).
 */
function kernelRoute(x: Tensor, y: Tensor, options: VariantOptions, arith: Arithmetic): { plan: KernelPlan; precision: 'float64' | 'float32' } | null {
  if (arith === 'float32') return null;
  const v = resolveVariant(variantOptionsOf(options));
  if (!bySsimKernels(v.decl)) return null;
  return { plan: planKernel(x, y, v.ssimOptions), precision: arith === 'float64' ? 'float64' : 'float32' };
}

/**
 * A variant's JVP: its value and directional derivative in the direction (dx, dy) (either may be
 * null: that image does not move), forward mode over its field graph; with `maps`, the value and
 * tangent of each windowed map. Bad input is an InputError naming the argument.
 */
export function variantJvp(x: Tensor, y: Tensor, dx: Tensor | null, dy: Tensor | null, options: JvpOptions = {}): JvpResult {
  const arith = checkArith(options.arith);
  const route = kernelRoute(x, y, options, arith);
  if (route !== null) {
    const { plan, precision } = route;
    const tx = direction(dx, 'dx', plan.shape, 'x');
    const ty = direction(dy, 'dy', plan.shape, 'y');
    const r = ssimJvpOnKernels(x, y, tx, ty, plan, precision, options.maps === true);
    requireFinite(r.ssim, plan.config, x, y, [['the JVP of ssim', [r.jvp]]]);
    return { value: r.ssim, jvp: r.jvp, maps: r.map === null ? [] : [r.map] };
  }
  const g = graphOf(x, y, options);
  const dir: Record<string, Float64Array> = {};
  const tx = direction(dx, 'dx', g.shape, 'x');
  const ty = direction(dy, 'dy', g.shape, 'y');
  if (tx !== null) dir.x = tx;
  if (ty !== null) dir.y = ty;
  const blocks = options.maps === true ? topoOrder([g.loss]).filter((n): n is BlockNode => n.kind === 'block') : [];
  const at = blocks.map((b) => b.parts.map!);
  const r = forwardTangents(g.loss, g.inputs, dir, { arith, at });
  const name = g.variant.decl.name;
  requireFinite(r.value[0]!, g.config, x, y, [[`the JVP of ${name}`, r.tangent]], variantLossNote(g.variant));
  const maps = at.map((n) => ({ label: n.label, shape: [...n.shape], value: r.values.get(n.id)!, tangent: r.tangents.get(n.id)! }));
  return { value: r.value[0]!, jvp: r.tangent[0]!, maps };
}

/** The directions of an HVP's vector by image, checked against the images' shape. */
function hvpDirections(v: HvpVector, wrt: 'x' | 'y' | 'both', shape: Shape4): { x?: Float64Array; y?: Float64Array } {
  const dir: { x?: Float64Array; y?: Float64Array } = {};
  if (isTensor(v)) {
    if (wrt === 'both') throw new InputError('v: with wrt both, give the vector by image ({ x, y })');
    dir[wrt] = direction(v, 'v', shape, wrt)!;
  } else if (typeof v === 'object' && v !== null) {
    const vx = direction(v.x, 'v.x', shape, 'x');
    const vy = direction(v.y, 'v.y', shape, 'y');
    if (vx !== null) dir.x = vx;
    if (vy !== null) dir.y = vy;
  } else throw new InputError(`v: got ${describeValue(v)}, expected a tensor or { x, y }`);
  return dir;
}

/**
 * A variant's Hessian-vector product: the Hessian of its value with respect to x, y or both
 * (`wrt`) times `v`, forward over reverse on its field graph, beside the gradient. `v` is a tensor
 * (the direction of the image `wrt` names) or directions by image ({ x, y }; with wrt 'x' that
 * gives H_xx v_x + H_xy v_y).
 */
export function variantHvp(x: Tensor, y: Tensor, v: HvpVector, options: HvpOptions = {}): HvpResult {
  const arith = checkArith(options.arith);
  const wrt = options.wrt ?? 'x';
  if (wrt !== 'x' && wrt !== 'y' && wrt !== 'both') throw new InputError(`wrt: got ${describeValue(wrt)}, expected x, y or both`);
  const route = kernelRoute(x, y, options, arith);
  const shape = route?.plan.shape ?? null;
  const g = route === null ? graphOf(x, y, options) : null;
  const dir = hvpDirections(v, wrt, shape ?? g!.shape);
  if (route !== null) {
    const { plan, precision } = route;
    const r = ssimHvpOnKernels(x, y, dir.x ?? null, dir.y ?? null, plan, precision, wrt);
    const rows = wrt === 'both' ? (['x', 'y'] as const) : [wrt];
    const got = { x: [r.gradX, r.hvpX], y: [r.gradY, r.hvpY] } as const;
    requireFinite(r.ssim, plan.config, x, y, rows.flatMap((k) => [[`d ssim/d${k}`, got[k][0]], [`the HVP of ssim (d${k})`, got[k][1]]] as const));
    return { value: r.ssim, gradX: r.gradX, gradY: r.gradY, hvpX: r.hvpX, hvpY: r.hvpY };
  }
  const names = wrt === 'both' ? ['x', 'y'] : [wrt];
  const r = hessianVector(g!.loss, g!.inputs, dir, { wrt: names, arith });
  const name = g!.variant.decl.name;
  requireFinite(r.value[0]!, g!.config, x, y, names.flatMap((k) => [[`d ${name}/d${k}`, r.grads[k]], [`the HVP of ${name} (d${k})`, r.hvps[k]]] as const), variantLossNote(g!.variant));
  return { value: r.value[0]!, gradX: r.grads.x ?? null, gradY: r.grads.y ?? null, hvpX: r.hvps.x ?? null, hvpY: r.hvps.y ?? null };
}

/** Options of ssimJvp: SSIM's, and the arithmetic. */
export interface SsimJvpOptions extends SsimOptions, DerivativeArithmetic {}

/** Options of ssimHvp: SSIM's, the arithmetic and the rows of the Hessian. */
export interface SsimHvpOptions extends SsimOptions, DerivativeArithmetic {
  /** 'x' (default), 'y' or 'both'. */
  wrt?: 'x' | 'y' | 'both';
}

/** SSIM's JVP: the SSIM, its directional derivative, and the SSIM map S (every window, uncropped) with its tangent. */
export interface SsimJvpResult {
  readonly ssim: number;
  readonly jvp: number;
  readonly map: MapTangent;
}

/**
 * The SSIM of x and y under the options, its directional derivative in the direction (dx, dy)
 * (either may be null), and the SSIM map's value and tangent (for per-pixel residuals): forward
 * mode, exact, on the generated JVP kernel (over SSIM's field graph in float32 arithmetic).
 */
export function ssimJvp(x: Tensor, y: Tensor, dx: Tensor | null, dy: Tensor | null, options: SsimJvpOptions = {}): SsimJvpResult {
  const r = variantJvp(x, y, dx, dy, { ...options, variant: 'ssim', maps: true });
  return { ssim: r.value, jvp: r.jvp, map: r.maps[0]! };
}

/** SSIM's HVP: the SSIM, and for each image of `wrt` its gradient and the Hessian times the vector (null for the other). */
export interface SsimHvpResult {
  readonly ssim: number;
  readonly gradX: Float64Array | null;
  readonly gradY: Float64Array | null;
  readonly hvpX: Float64Array | null;
  readonly hvpY: Float64Array | null;
}

/**
 * The Hessian of SSIM with respect to x, y or both (`wrt`, default x) times `v`, beside the SSIM and
 * its gradient: forward over reverse, exact, on the generated HVP kernel (over SSIM's field graph
 * in float32 arithmetic).
 */
export function ssimHvp(x: Tensor, y: Tensor, v: HvpVector, options: SsimHvpOptions = {}): SsimHvpResult {
  const { value, ...rest } = variantHvp(x, y, v, { ...options, variant: 'ssim' });
  return { ssim: value, ...rest };
}
