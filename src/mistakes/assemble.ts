/**
 * The library a candidate is compared with, assembled from the graph: plain SSIM's library as it
 * is; for any other variant (a built-in or a user's declaration) SSIM's mistakes made inside its
 * windowed maps (kinds `<variant>/<kind>`), the loss's own (src/mistakes/graph.ts), the sign and the
 * other image. Where two rewrites give one gradient the first listed keeps it (distinctMistakes):
 * plain SSIM's library in its order; for a variant, the whole loss's and its own nodes' before
 * SSIM's inside it.
 */
import { InputError, type Tensor } from '../field/index.js';
import type { VariantOptions } from '../runtime/index.js';
import { variantGraph } from '../variants/evaluate.js';
import type { VariantDeclaration } from '../variants/types.js';
import type { KnownMistake, MistakeContext } from './context.js';
import { GRAPH_CORRECT, outerMistakes } from './graph.js';
import { anatomyOf } from './match.js';
import { known, wordsOf, type MistakeSpec } from './rewrite.js';
import { KNOWN_MISTAKES, otherImage, signFlipped, SSIM_SPECS, ssimPartials } from './ssim.js';

/**
 * The mistakes a candidate for this loss is compared with: plain SSIM's library as it is; for any
 * other variant (a built-in or a user's declaration) SSIM's mistakes made inside its windowed maps
 * (kinds `<variant>/<kind>`), the loss's own, the sign and the other image.
 */
export function mistakesFor(x: Tensor, y: Tensor, options: VariantOptions): readonly KnownMistake[] {
  const a0 = anatomyOf(variantGraph(x, y, options));
  if (a0.ssimOutputs && a0.outerMaps.length === 0 && a0.outerReduces.length === 0 && a0.outerLinear.length === 0) return KNOWN_MISTAKES;
  const name = a0.name;
  const atLoss = (s: MistakeSpec): boolean => s === signFlipped || s === otherImage;
  const words = (s: MistakeSpec) =>
    a0.ssimOutputs
      ? wordsOf(s)
      : s === otherImage
        ? wordsOf(s)
        : s === signFlipped
          ? {
              ...wordsOf(s),
              title: `sign flipped: minus the gradient of ${name}`,
              explanation: `The candidate is minus the exact gradient of ${name} (a loss and its negative, or a minus lost in the chain rule). If it is meant to be the gradient of -${name}, negate it to check it.`,
              correctFormula: GRAPH_CORRECT,
            }
          : {
              kind: `${name}/${s.kind}`,
              title: `inside ${name}, ${s.title}`,
              explanation: `${s.explanation} (Here inside ${name}: the rest of its chain rule is exact.)`,
              correctFormula: `${s.correctFormula}; the rest of ${name}'s gradient: ${GRAPH_CORRECT}`,
            };
  const specs = [...SSIM_SPECS, ssimPartials];
  const ssim = specs.map((s) => known(s, words(s), s.scaleOnly(a0)));
  // plain SSIM keeps its library's order; a variant lists the whole loss's and its own nodes' first (where two give one
  // gradient, dssim's 1/2 forgotten and SSIM's mean over H x W with N C = 2, the loss's own reading names it)
  if (a0.ssimOutputs) return [...ssim, ...outerMistakes(a0)];
  return [...ssim.filter((_, i) => atLoss(specs[i]!)), ...outerMistakes(a0), ...ssim.filter((_, i) => !atLoss(specs[i]!))];
}

/**
 * The known mistakes that tell something here, with their gradients: those that apply to the
 * configuration, differ from the exact gradient (beyond 1e-12 relative) and from every earlier
 * one (a crop can make boundary transposes coincide; N = 1 makes two normalisers one).
 */
export function applicableMistakes(
  ctx: MistakeContext,
  exact: Float64Array,
  library: readonly KnownMistake[] = KNOWN_MISTAKES,
): Array<{ mistake: KnownMistake; gradient: Float64Array }> {
  return distinctMistakes(library.map((mistake) => ({ mistake, gradient: mistake.build(ctx) })), exact);
}

/**
 * The mistakes with a gradient (not null) that differs from the exact gradient (beyond 1e-12
 * relative) and from every earlier one, in order: applicableMistakes' rule, also applied to the
 * checker's subsample (the gradients there being the strips' values put end to end).
 */
export function distinctMistakes(
  built: ReadonlyArray<{ mistake: KnownMistake; gradient: Float64Array | null }>,
  exact: Float64Array,
): Array<{ mistake: KnownMistake; gradient: Float64Array }> {
  const out: Array<{ mistake: KnownMistake; gradient: Float64Array }> = [];
  const same = (a: Float64Array, b: Float64Array): boolean => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      d += (a[i]! - b[i]!) ** 2;
      na += a[i]! ** 2;
      nb += b[i]! ** 2;
    }
    return Math.sqrt(d) <= 1e-12 * Math.sqrt(Math.max(na, nb));
  };
  for (const { mistake, gradient } of built) {
    if (gradient === null || same(gradient, exact) || out.some((o) => same(o.gradient, gradient))) continue;
    out.push({ mistake, gradient });
  }
  return out;
}

/**
 * The known mistakes of a variant named by its name (or declaration) alone: its graph's library
 * (mistakesFor) enumerated on sample images of a size its options accept. Each mistake is then
 * evaluated on the images of the context it is given; mistakesFor(x, y, options) gives the same
 * library for given images.
 */
export function variantMistakes(variant: string | VariantDeclaration, options: VariantOptions = {}): readonly KnownMistake[] {
  let last: unknown;
  for (const side of [32, 96, 192, 400]) {
    const n = side * side;
    const x = { shape: [1, 1, side, side], data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7)) };
    const y = { shape: [1, 1, side, side], data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7 + 0.3)) };
    try {
      return mistakesFor(x, y, { dataRange: 1, ...options, variant });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      last = e;
    }
  }
  throw last;
}
