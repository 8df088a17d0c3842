/**
 * What the checker reports, as data: the report (plain JSON, what `check --json` prints), its
 * entries, and the result that carries the arrays it was made from. Types only; the checker
 * (diagnose.ts) fills them, report.ts prints them.
 */
import type { Tensor } from '../field/index.js';
import type { SsimEvaluation, VariantOptions } from '../runtime/index.js';
import type { RegionErrors, ScaleFit, TermFit } from './compare.js';
import type { RoundingFloor } from './floor.js';
import type { KnownMistake, MistakeContext } from '../mistakes/context.js';
import type { SubsampleOptions } from './subsample.js';
import type { VariantPieces } from './variant-model.js';

/** One entry of the diagnosis. */
export interface Diagnosis {
  /** 'rounding', 'scale', 'where', 'terms', 'unexplained', or a known mistake's kind. */
  readonly kind: string;
  readonly message: string;
  /** For a known mistake: why it goes wrong, and the right formula. */
  readonly explanation?: string;
  readonly correctFormula?: string;
}

/** How a candidate compares with one known mistake. */
export interface MistakeDistance {
  readonly kind: string;
  readonly title: string;
  /** ||candidate - mistake|| / ||mistake|| (over the allowance where the mistake is smaller: relativeScale). */
  readonly distance: number;
  /**
   * For mistakes that are not themselves scales: the best scale of the mistake and the distance after
   * it; null also where k times the mistake is within the allowance of zero (k = 0 for a zero candidate).
   */
  readonly scaled: { readonly k: number; readonly distance: number } | null;
  /** The distance within which it is named: the mistake tolerance, less for a mistake larger than the exact gradient. */
  readonly tolerance: number;
  /** 'as-is' when within tolerance unscaled, 'scaled' when only after the scale, else false. */
  readonly matched: 'as-is' | 'scaled' | false;
}

/** Everything `check` reports; plain data (JSON as it is). */
export interface CheckReport {
  /**
   * 'inconclusive': within the allowance, but the allowance is more than INCONCLUSIVE_RELATIVE (0.1)
   * of the exact gradient's norm, so a match would not mean anything (floor.ts).
   */
  readonly verdict: 'match' | 'mismatch' | 'inconclusive';
  readonly wrt: 'x' | 'y';
  readonly shape: readonly number[];
  readonly ssim: number;
  /** For a variant (--variant): its name, options and value (the quantity whose gradient is checked); absent for plain SSIM. */
  readonly variant?: { readonly name: string; readonly value: number; readonly options: Readonly<Record<string, number | readonly number[]>> };
  readonly configuration: Readonly<Record<string, string | number | boolean>>;
  readonly maxAbsError: number;
  /** ||candidate - exact||_2. */
  readonly l2Error: number;
  /**
   * ||candidate - exact||_2 / ||exact||_2, or over the allowance (FLOOR_ALLOWANCE x the floor's L2)
   * where the exact gradient is within it of zero and has no scale of its own (relativeScale).
   */
  readonly relError: number;
  readonly maxAbsExact: number;
  readonly roundingFloor: RoundingFloor;
  /** The verdict: match when both errors are at most `factor` times the floor's. */
  readonly allowance: { readonly factor: number; readonly maxAbs: number; readonly l2: number };
  readonly errorOverFloor: { readonly maxAbs: number; readonly l2: number };
  readonly candidateIsFloat32: boolean;
  readonly regions: RegionErrors;
  readonly scale: ScaleFit;
  readonly terms: TermFit;
  /** Relative distance within which a known mistake is named, and why that much. */
  readonly mistakeTolerance: { readonly value: number; readonly reason: string };
  /** Known mistakes that apply to this configuration, nearest first. */
  readonly mistakes: readonly MistakeDistance[];
  readonly diagnosis: readonly Diagnosis[];
  /**
   * Present when the images were large enough to subsample: `mistakes`, `terms` and the names in
   * `diagnosis` come from these strips; everything else from the whole images.
   */
  readonly subsample?: SubsampleReport;
}

/** The report with the arrays it was made from (for the heatmap and the tracer). */
export interface CheckResult {
  readonly report: CheckReport;
  readonly exact: Float64Array;
  readonly candidate: Float64Array;
  readonly evaluation: SsimEvaluation;
  readonly context: MistakeContext;
  /** For a variant: its exact gradient taken apart. */
  readonly pieces?: VariantPieces;
  /** The known mistake named first, if any. */
  readonly named: KnownMistake | null;
}

/** What checkGradient takes. */
export interface CheckInput {
  readonly x: Tensor;
  readonly y: Tensor;
  /** SSIM's options, with a variant's (variant, weights, lambda, ...) when it checks one. */
  readonly options: VariantOptions;
  readonly wrt: 'x' | 'y';
  /** The candidate gradient, with x's size (C order). */
  readonly candidate: ArrayLike<number>;
  /** Whether the candidate holds float32 values; detected (every value float32-representable) when omitted. */
  readonly float32?: boolean;
  /**
   * When to fit the known mistakes and the terms on a subsample of large images (subsample.ts), or
   * false to use the whole images whatever their size. Default: SUBSAMPLE_DEFAULTS.
   */
  readonly subsample?: SubsampleOptions | false;
  /** Called as the work proceeds (the CLI's progress bar). */
  readonly progress?: CheckProgress;
  /** The images' names for the message that refuses a result that is not finite (the CLI's file names); default 'x', 'y'. */
  readonly names?: { readonly x: string; readonly y: string };
}

/** Where the known mistakes and the term fit were evaluated, when not on the whole images. */
export interface SubsampleReport {
  /**
   * Per tile: the plane (n C + c), the image rows and columns [start, end) compared, and the rows and
   * columns [start, end) cut out with the halo.
   */
  readonly strips: ReadonlyArray<{
    readonly plane: number;
    readonly rows: readonly [number, number];
    readonly cut: readonly [number, number];
    readonly columns: readonly [number, number];
    readonly cutColumns: readonly [number, number];
  }>;
  /** Pixels of halo beyond the compared ones at a cut (2r + crop): with it the tiles' gradients are the whole images'. */
  readonly halo: number;
  /** Values compared, of the whole images'. */
  readonly values: number;
  readonly of: number;
  /** ||exact from the strips - exact|| / ||exact|| over the compared values: rounding only (about 1e-15) when the strips are sound. */
  readonly exactAgreement: number;
  /** The same in words. */
  readonly note: string;
}

/** Reports progress: `done` of `total` units of work, and what runs now. */
export type CheckProgress = (done: number, total: number, what: string) => void;

/**
 * What `check --jvp` and `check --hvp` report: the gradient report's fields where they mean the
 * same (the verdict, the errors, the floor and the allowance, the known mistakes and the
 * diagnosis), with `mode` and, for a JVP, the two scalars. A JVP is one number: its L2 and max abs
 * figures are its absolute error, and it has no regions nor terms; an HVP has X's shape and its
 * regions and scale fit as a gradient's (no terms fit: the three chain-rule terms are the gradient's).
 */
export interface ForwardCheckReport {
  readonly mode: 'jvp' | 'hvp';
  /** As the gradient report's: 'inconclusive' where the allowance is more than 0.1 of the exact answer's norm. */
  readonly verdict: 'match' | 'mismatch' | 'inconclusive';
  /** For an HVP: the image the Hessian's rows and v are over. */
  readonly wrt?: 'x' | 'y';
  readonly shape: readonly number[];
  readonly ssim: number;
  readonly variant?: CheckReport['variant'];
  readonly configuration: Readonly<Record<string, string | number | boolean>>;
  /** For a JVP: the candidate's and the exact directional derivative, and whether dy was given. */
  readonly jvp?: { readonly candidate: number; readonly exact: number; readonly dy: boolean };
  readonly maxAbsError: number;
  readonly l2Error: number;
  readonly relError: number;
  readonly maxAbsExact: number;
  /**
   * The floor: the exact JVP or HVP computed in float32 arithmetic against float64; for a JVP never
   * less than the spread its per-pixel shares' rounding gives, sqrt(sum ((g32 - g) . d)^2) over both
   * images (one scalar's measured difference can be small by chance).
   */
  readonly roundingFloor: RoundingFloor;
  readonly allowance: { readonly factor: number; readonly maxAbs: number; readonly l2: number };
  readonly errorOverFloor: { readonly maxAbs: number; readonly l2: number };
  readonly candidateIsFloat32: boolean;
  /** For an HVP: where its error lies. */
  readonly regions?: RegionErrors;
  readonly scale: ScaleFit;
  readonly mistakeTolerance: { readonly value: number; readonly reason: string };
  readonly mistakes: readonly MistakeDistance[];
  readonly diagnosis: readonly Diagnosis[];
}
