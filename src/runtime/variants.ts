/**
 * SSIM's variants in the library's terms: the options a variant takes beside SSIM's, and
 * evaluateVariant, which runs the variant's field graph (src/variants: one declaration per
 * variant, a registry) and its one reverse mode (src/graph) for the value and the exact gradient
 * with respect to both images.
 */
import type { Tensor } from '../field/index.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';
import { ssimFast } from './fast.js';
import { requireFinite, variantLossNote } from '../model/finite.js';
import { resolveVariant, VARIANT_NAMES, type BuiltInVariantOptions, type VariantRef } from '../variants/registry.js';
import { MSSSIM_WEIGHTS } from '../variants/ms-ssim.js';
import { plainSsimOf, variantGraph, type VariantGraph } from '../variants/evaluate.js';
import { evaluateGraph, type EvaluateOptions, type GraphResult } from '../graph/evaluate.js';
import { BLOCK_KERNELS } from './blocks.js';

/** A variant's name: a built-in (src/variants/registry.ts) or a user's declaration's. */
export type Variant = string;
/** The built-in variants' names. */
export const VARIANTS: readonly string[] = VARIANT_NAMES;

export { MSSSIM_WEIGHTS };

/** Options of evaluateVariant: SSIM's, the variant, and its options (a built-in's typed, a user's by key). */
export interface VariantOptions extends SsimOptions, BuiltInVariantOptions {
  /** The variant: a built-in's name, or a declaration (`defineVariant`, `--variant-file`). */
  variant?: VariantRef;
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

/**
 * Validates the variant and its options, and the SSIM options beside them (exit-2 errors naming
 * the option, the value received and its type); returns the variant's name.
 */
export function checkVariantOptions(o: VariantOptions): Variant {
  const v = resolveVariant(o);
  resolveOptions(v.ssimOptions);
  return v.decl.name;
}

/** Evaluates a variant's graph (value, and the gradient with respect to `wrt`), its blocks on the generated kernels unless `fused: false`. */
export function runVariant(g: VariantGraph, opts: EvaluateOptions = {}): GraphResult {
  return evaluateGraph(g.loss, g.inputs, { kernels: BLOCK_KERNELS, ...opts });
}

/** Evaluates the variant and its exact gradients in float64: reverse mode over its graph (src/graph). */
export function evaluateVariant(x: Tensor, y: Tensor, options: VariantOptions = {}): VariantResult {
  const g = variantGraph(x, y, options);
  const r = runVariant(g, { wrt: ['x', 'y'] });
  const ssim = plainSsimOf(g, r) ?? ssimFast(x, y, g.variant.ssimOptions, 'float64');
  // a value or gradient that is not finite (overflow, 0/0 on a flat window) is an InputError naming the cause
  requireFinite(r.value[0]!, g.config, x, y, [[`d ${g.variant.decl.name}/dx`, r.grads.x], [`d ${g.variant.decl.name}/dy`, r.grads.y]], variantLossNote(g.variant));
  requireFinite(ssim, g.config, x, y);
  return { value: r.value[0]!, ssim, gradX: r.grads.x!, gradY: r.grads.y! };
}
