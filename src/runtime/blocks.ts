/**
 * A block on its generated kernels: the same windowed map, reduced over its region, that the
 * block's fine graph computes, in the kernels' fused four-pass schedule (src/emit/kernels.ts
 * writes them from the map's scalar graph). Value: per-plane sums of the map over the region.
 * Gradient: the kernels take one weight per plane (planeOmega), the block's adjoint spread over
 * the region, and return sum_p omega_p d(plane sum_p)/dx and /dy.
 */
import { mapGeometry } from '../model/options.js';
import { kernelVariant, planKernel } from './fast.js';
import type { KernelParams } from '../emit/params.js';
import type { Boundary, Precision } from '../field/index.js';
import { float32ArithKernels, float64Kernels, type Float64Kernels } from '../generated/index.js';
import type { BlockKernels, BlockRun } from '../graph/evaluate.js';
import type { BlockNode } from '../graph/node.js';

/**
 * Runs a block on its kernels: its value, and with `want` its gradient for a unit adjoint (the
 * evaluator scales it plane by plane) with respect to x and/or y. A block whose map has no kernels
 * for the arithmetic throws: the evaluator expands those.
 */
export function runBlockKernel(
  b: BlockNode,
  x: Float64Array,
  y: Float64Array,
  arith: Precision,
  want: { readonly x: boolean; readonly y: boolean } | null,
): BlockRun {
  if (!hasKernels(b, arith, want !== null)) throw new Error(`block ${b.label}: its map has no generated kernels for this arithmetic`);
  const shape = [...b.x.shape];
  const plan = planKernel({ shape, data: x }, { shape, data: y }, { ...b.options, precision: 'float64' });
  const [N, C, H, W] = b.x.shape;
  const P = N * C;
  const { region } = mapGeometry(plan.config, H, W);
  const name = b.map.kernels!;
  const planeSums = new Float64Array(P);
  const perPlane = (sums: Float64Array): Float64Array => {
    if (b.reduce === 'planes') return sums.map((s) => s / region);
    let t = 0;
    for (let p = 0; p < P; p++) t += sums[p]!;
    return Float64Array.of(plan.config.reduction === 'mean' ? t / (P * region) : t / region);
  };
  const params = { ...plan.params, ...b.map.kernelParams, planeSums };
  if (want === null) {
    kernelFamily(name, plan.config.padding, plan.params).value(x, y, params);
    return { value: perPlane(planeSums), gradX: null, gradY: null };
  }
  // d value / d plane sum p for a unit adjoint: 1 over the region (and over the planes for a mean)
  const planeOmega = new Float64Array(P).fill(b.reduce === 'loss' && plan.config.reduction === 'mean' ? 1 / (P * region) : 1 / region);
  if (arith === 'float32') {
    // the emulated float32 kernel: float32 storage, Math.fround after every operation
    // d/dx always (the kernels' form); d/dy only when asked for
    const out = { gradX: new Float32Array(x.length), gradY: want.y ? new Float32Array(x.length) : null };
    float32ArithKernels[name]![plan.config.padding](Float32Array.from(x), Float32Array.from(y), { ...params, planeOmega }, out);
    const back = (g: Float32Array | null): Float64Array | null => (g === null ? null : Float64Array.from(g));
    return { value: perPlane(planeSums).map(Math.fround), gradX: want.x ? back(out.gradX) : null, gradY: back(out.gradY) };
  }
  const out = { gradX: new Float64Array(x.length), gradY: want.y ? new Float64Array(x.length) : null };
  kernelFamily(name, plan.config.padding, plan.params).grad(x, y, { ...params, planeOmega }, out);
  return { value: perPlane(planeSums), gradX: want.x ? out.gradX : null, gradY: out.gradY };
}

/** Whether a block's map has kernels for the arithmetic (float32 arithmetic: a value-and-gradient kernel only). */
export function hasKernels(b: BlockNode, arith: Precision, withGradient: boolean): boolean {
  const name = b.map.kernels;
  if (name === null) return false;
  return arith === 'float64' ? float64Kernels[name] !== undefined : withGradient && float32ArithKernels[name] !== undefined;
}

/** The generated kernels as the field graph's evaluator takes them (`evaluateGraph(..., { kernels: BLOCK_KERNELS })`). */
export const BLOCK_KERNELS: BlockKernels = { has: hasKernels, run: runBlockKernel };

/** The names of the kernel families there are (one per map a built-in variant declares kernels for). */
const FAMILY_NAMES: readonly string[] = Object.keys(float64Kernels);

function kernelFamily(name: string, boundary: Boundary, params: KernelParams): Float64Kernels {
  const table = float64Kernels[name];
  if (table === undefined) throw new Error(`no generated kernels named ${name} (there are ${FAMILY_NAMES.join(', ')})`);
  const rule = table[boundary];
  return rule[kernelVariant(params)] ?? rule.generic!;
}
