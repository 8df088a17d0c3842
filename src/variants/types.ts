/**
 * A variant as a declaration: its options with defaults and checks, its loss as a field graph,
 * and its words for the documents and reports. Built-in variants (src/variants/*.ts) and a user's
 * (`--variant-file`, `defineVariant`) are written the same way; nothing else in ssim-grad knows a
 * variant by name.
 */
import type { StorageSuffix } from '../field/index.js';
import type { FieldNode } from '../graph/node.js';
import type { SsimConfig, SsimOptions } from '../model/options.js';
import type { GraphKit } from './kit.js';
import type { MapGraph, PixelTerm } from '../model/maps.js';

/** One option of a variant: how it is spelt on the command line, its default and its check. */
export interface OptionDeclaration {
  /** The flag without dashes (`--dssim-divisor` is 'dssim-divisor'); by default the option's key. */
  readonly flag?: string;
  readonly help: string;
  /**
   * 'number': one number; 'numbers': comma-separated numbers; 'field': a tensor the loss reads (on
   * the command line a .npy or .png file, in the library a tensor of any shape that broadcasts).
   */
  readonly kind: 'number' | 'numbers' | 'field';
  /** The default (absent for a field, which is then required). */
  readonly default?: number | readonly number[];
  /** What an error calls it in "only the V variant takes ...": the key, or 'it' (default). */
  readonly noun?: string;
  /** The error's "expected ..." when the value is bad, or undefined when it is good. */
  readonly check?: (value: number | readonly number[]) => string | undefined;
}

/** A tensor as the library takes it. */
export interface FieldValue {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** A variant's own options as its loss sees them, defaults filled in. */
export type VariantValues = Readonly<Record<string, number | readonly number[]>>;

/** What a variant's loss is built from. */
export interface LossContext {
  /** The images (after the preset's downsampling, where there is one). */
  readonly x: FieldNode;
  readonly y: FieldNode;
  /** The field options, as graph inputs, shaped NCHW. */
  readonly fields: Readonly<Record<string, FieldNode>>;
  /** The variant's number options, defaults filled in. */
  readonly values: VariantValues;
  /** SSIM's resolved configuration (preset, window, constants, boundary, crop, reduction). */
  readonly config: SsimConfig;
  /** The SSIM options as given, for blocks the kernels run. */
  readonly ssimOptions: SsimOptions;
  /** Builders of graph nodes (windowed SSIM, pooling, pointwise maps, reductions). */
  readonly g: GraphKit;
}

/**
 * A block of a variant's derivation document (src/derive/variant-doc.ts prints the graph's
 * equations after them): a paragraph ($inline LaTeX$, `code`, [links](other.md)) or a heading,
 * shown in every document of the variant or, with `only`, in the one of that name; or a
 * `document` block, which asks for one document (file stem, title, summary, and the options it is
 * derived under: a variant may have a document per preset). Without `document` blocks a variant
 * gets one document named after it. An `eq` is refused: every displayed equation comes from the
 * graph, with a twin checked against the evaluator.
 */
export type DocBlock =
  | { readonly p: string; readonly only?: string }
  | { readonly h2: string; readonly only?: string }
  | { readonly eq: string; readonly twin?: string }
  | { readonly document: string; readonly title?: string; readonly summary?: string; readonly options?: Readonly<Record<string, unknown>> };

/** A variant as one file declares it (defineVariant): its name, options, loss built with the graph kit, and the derivation's prose. */
export interface VariantDeclaration {
  /** Its name on the command line (`--variant NAME`), lower case, digits and dashes. */
  readonly name: string;
  /** One line: what it computes. */
  readonly summary: string;
  readonly options?: Readonly<Record<string, OptionDeclaration>>;
  /** Whether it can take a preset's downsampling (default true). */
  readonly downsamples?: boolean;
  /** The loss, a scalar field node. */
  readonly loss: (ctx: LossContext) => FieldNode;
  /** Its derivation document's prose: what it computes and why, before the chain rule the graph gives. */
  readonly doc?: readonly DocBlock[];
  /** Extra checks across options (an InputError naming the option), after each option's own. */
  readonly validate?: (values: VariantValues, ssim: SsimOptions) => void;
  /**
   * For the checker's words: how the exact gradient relates to SSIM's (the scale a candidate off by
   * a constant factor is told about); by default "the exact gradient carries d value/d ssim".
   */
  readonly scaleNote?: string;
  /**
   * Whether the checker may fit the known mistakes and the terms on tiles of large images
   * (src/check/subsample.ts): true only when the images reach the loss through one windowed map of
   * x and y themselves reduced as SSIM is (its gradient on a tile with a halo is the whole images'
   * times one factor) and, besides it, through means of pointwise maps of the pixels (rescaled by
   * their count): no pooling, no plane means combined nonlinearly. Default false: tiled by pinning
   * the whole images' per-plane and scalar values instead (subsample.ts, pinnedContext; MS-SSIM), or
   * checked whole where the graph has a node tiles cannot follow (a channel mix); a variant with a
   * field option is checked whole whatever this says (a tile cuts x and y only).
   */
  readonly tiles?: boolean;
  /**
   * What computes it (built-ins only; a user's variant is always 'graph'). 'graph' (default): its
   * loss's field graph, evaluated in float64 (the checker's floor: the graph in float32
   * arithmetic). 'ssim-kernels': the generated SSIM kernels themselves, in every precision, and the
   * checker's exact gradient, floor, terms and trace come from SSIM's own evaluation; right only
   * for a loss that is SSIM itself (plain SSIM).
   */
  readonly computedBy?: 'graph' | 'ssim-kernels';
  /**
   * How the outputs speak of it (built-ins only; a user's variant is always 'named'). 'named'
   * (default): they name it (value --json's `variant`, check's report's `variant`, the candidate
   * told `variant` and its options, the known mistakes' kinds `<name>/<kind>`, the loss's own
   * listed first). 'ssim': they are SSIM's own, as before variants existed (no `variant` key, SSIM's
   * library of mistakes under its kinds and in its order).
   */
  readonly outputs?: 'named' | 'ssim';
  /**
   * Kernel families `npm run generate` writes for this variant's maps (built-ins only: a user's
   * variant runs its maps on the fine graph, or on the families there are).
   */
  readonly kernels?: readonly KernelFamily[];
}

/** Storage types a family's kernels are written for: F64 (Float64Array), F32 (Float32Array), one per precision (src/field/precision.ts). */
export type { StorageSuffix };

export interface KernelFamily {
  /** Names the file (<name>.ts), the kernels (<name>ValueF64K11, <name>GradF64, ...) and the table (<name>Kernels). */
  readonly name: string;
  /** The pointwise map and its partials (built when the generator asks: the symbolic work is not free). */
  readonly map: () => MapGraph;
  /**
   * Scalar parameters of the map (variables of its graph) read from the kernel parameters at run
   * time, with their defaults; each must be a field of KernelParams (src/emit/params.ts).
   */
  readonly params: Readonly<Record<string, number>>;
  /** One line on what the map is (the file's header). */
  readonly what: string;
  /** More for the header: how the map is called, its conventions. */
  readonly note: string;
  /**
   * Storage types, each a kernel. With one, the table's entries are `value` and `grad`; with several,
   * `valueF64`, `gradF32`, ...
   */
  readonly storages: readonly StorageSuffix[];
  /** Window sizes with the taps unrolled (the table's k<size> entries; `generic` loops for any size). */
  readonly unrolled: readonly number[];
  /** Whether to add the value-and-gradient kernel in emulated float32 arithmetic (the table's gradF32Arith). */
  readonly f32Arith: boolean;
  /**
   * A term of the pixels fused into the kernels beside the map (the 3DGS loss's L1): the kernels
   * add p.pixelOmega times its sum over every pixel to the value, and its partials to the gradient
   * (in the last pass, where the pixels are read anyway).
   */
  readonly pixel?: () => PixelTerm;
}
