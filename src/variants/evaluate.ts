/**
 * A variant's graph for two images, and its evaluation: value and exact gradient (float64), or
 * the same graph in float32 storage or float32 arithmetic (the rounding floor).
 */
import { input } from '../graph/build.js';
import { evaluateGraph, type EvaluateOptions, type GraphResult } from '../graph/evaluate.js';
import { topoOrder, type FieldNode } from '../graph/node.js';
import { imageInputs } from '../graph/ssim.js';
import { InputError, shape4, toField, type Shape4, type Tensor } from '../field/index.js';
import { resolveOptions, type SsimConfig } from '../model/options.js';
import { graphKit } from './kit.js';
import { resolveVariant, type ResolvedVariant, type VariantRef } from './registry.js';

/** A variant's loss for images of one shape, with the input values it reads. */
export interface VariantGraph {
  readonly variant: ResolvedVariant;
  readonly config: SsimConfig;
  readonly shape: Shape4;
  /** The loss (a scalar node). */
  readonly loss: FieldNode;
  /** Values of every input node by name (x, y and the field options). */
  readonly inputs: Readonly<Record<string, Float64Array>>;
  /** The images the loss windows (x and y, downsampled where the preset says). */
  readonly images: { readonly x: FieldNode; readonly y: FieldNode };
}

export type VariantInput = { readonly variant?: VariantRef; readonly variantOptions?: Readonly<Record<string, unknown>> };

/** Builds the variant's graph for x and y (checking the images and the options; bad input is an InputError). */
export function variantGraph(x: Tensor, y: Tensor, options: VariantInput): VariantGraph {
  const variant = resolveVariant(options);
  const config = resolveOptions(variant.ssimOptions);
  const shape = shape4(x, 'x');
  if (shape4(y, 'y').join() !== shape.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const img = imageInputs(shape, config);
  const fields = Object.fromEntries(Object.entries(variant.fields).map(([k, f]) => [k, input(k, f.shape)]));
  const loss = variant.decl.loss({
    x: img.xs,
    y: img.ys,
    fields,
    values: variant.values,
    config,
    ssimOptions: variant.ssimOptions,
    g: graphKit(config, variant.ssimOptions, img.f),
  });
  if (loss === null || typeof loss !== 'object' || !('kind' in loss)) throw new InputError(`variant ${variant.decl.name}: loss returned ${String(loss)}, expected a field node built with ctx.g`);
  if (loss.shape.some((d) => d !== 1)) throw new InputError(`variant ${variant.decl.name}: the loss has shape [${loss.shape}], expected a scalar (reduce it with g.mean or g.sum)`);
  const inputs: Record<string, Float64Array> = { x: toField(x, 'x').data, y: toField(y, 'y').data };
  for (const [k, f] of Object.entries(variant.fields)) inputs[k] = f.data;
  return { variant, config, shape, loss, inputs, images: { x: img.xs, y: img.ys } };
}

/**
 * Plain SSIM of the images as the options say, read from an evaluation of the variant's graph when
 * the graph has SSIM's block on the images themselves (dssim, the 3DGS loss, plain SSIM), else null.
 */
export function plainSsimOf(g: VariantGraph, r: GraphResult): number | null {
  for (const n of topoOrder([g.loss])) {
    if (n.kind === 'block' && n.map.kernels === 'ssim' && n.reduce === 'loss' && n.x === g.images.x && n.y === g.images.y) {
      const v = r.values.get(n.id);
      if (v !== undefined) return v[0]!;
    }
  }
  return null;
}
