/** A derivation document as data: blocks of prose, numbered equations and tables, printed by render.ts. */
import type { Tensor } from '../field/index.js';

/** One point an equation's twin is checked at. */
export interface EquationSample {
  readonly scope: Record<string, number | number[]>;
  readonly expected: number;
  /** The flat index, in the field the left side names, of the element this sample is (where the equation is of a field). */
  readonly at?: number;
}

/** One displayed formula: its LaTeX, and an infix twin that mathjs parses and evaluates. */
export interface Equation {
  readonly kind: 'eq';
  /** Anchor id, e.g. "eq-7". */
  readonly id: string;
  readonly number: number;
  readonly latex: string;
  /** mathjs syntax; evaluated on each sample's scope it must give the sample's expected value. */
  readonly twin: string;
  /** Points at which the twin is checked against the graph (or the field operators). */
  readonly samples: () => ReadonlyArray<EquationSample>;
  /** Set on the document's gradient with respect to the image x or y: the equation assembled by reverse mode over the whole loss. */
  readonly gradient?: 'x' | 'y';
  /**
   * Set on the forward-mode section's result equations: 'loss' the loss's tangent (the JVP), 'x'
   * and 'y' the images' adjoint tangents (the rows of H v), in the document's sample direction.
   */
  readonly tangent?: 'loss' | 'x' | 'y';
}

export type Block =
  | { readonly kind: 'h2'; readonly text: string; readonly id: string }
  | { readonly kind: 'p'; readonly text: string }
  | Equation
  | { readonly kind: 'table'; readonly header: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> };

export interface DerivationDoc {
  /** File stem: derivations/<name>.md */
  readonly name: string;
  readonly title: string;
  /** One line for the index page. */
  readonly summary: string;
  readonly blocks: readonly Block[];
  /**
   * The sample images the twins are evaluated on, and the options with any field option drawn for
   * them (`{ ...options, variant }` evaluates a variant's document's loss there; an SSIM document's
   * options say `downsample: 1`, its equations being of the images after any downsampling).
   */
  readonly sample?: {
    readonly x: Tensor;
    readonly y: Tensor;
    readonly options: Readonly<Record<string, unknown>>;
    /** The direction (x_dot, y_dot) the forward-mode section's tangents and Hessian-vector product are taken in, of the images' shape. */
    readonly direction?: { readonly x: Float64Array; readonly y: Float64Array };
  };
}
