/**
 * The checker in the browser: `checkGradient` itself (src/check/diagnose.ts) on arrays, with the
 * candidate read from a dropped file as the CLI reads one: `.npy` bytes parsed here (src/io/npy.ts),
 * its shape and values checked with the CLI's messages (src/check/candidate-values.ts). A candidate
 * module (.ts/.js exporting gradient()) runs only under the CLI, in its own process. The report and
 * its text are `check`'s (formatCheckReport), the heatmap `check --heatmap`'s pixels.
 */
import { InputError, shape4, type Tensor } from '../field/index.js';
import { parseNpy } from '../io/npy.js';
import { checkValues } from '../check/candidate-values.js';
import { checkGradient } from '../check/diagnose.js';
import { formatCheckReport } from '../check/report.js';
import { bandOf } from '../check/compare.js';
import { heatmapImage, type HeatmapInfo } from '../check/heatmap-image.js';
import type { CheckProgress, CheckReport } from '../check/schema.js';
import { resolveOptions } from '../model/options.js';
import { bySsimKernels } from '../variants/registry.js';
import { checkVariantOptions, evaluateVariant, type VariantOptions } from '../runtime/variants.js';
import { ssim } from '../runtime/ssim.js';

/** A candidate gradient as the page holds it: a file's bytes and name, or a tensor. */
export type CandidateSource = { readonly name: string; readonly bytes: Uint8Array } | { readonly name: string; readonly tensor: Tensor };

/** What `checkCandidate` takes. */
export interface BrowserCheckInput {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly candidate: CandidateSource;
  /** SSIM's options and a variant's (as checkGradient takes them). */
  readonly options?: VariantOptions;
  readonly wrt?: 'x' | 'y';
  /** The images' names in the report and the messages (default 'x', 'y'). */
  readonly names?: { readonly x: string; readonly y: string };
}

/** The report, its text as `check` prints it, and the heatmap of |candidate - exact| as RGBA pixels. */
export interface BrowserCheckResult {
  readonly report: CheckReport;
  readonly text: string;
  readonly heatmap: { readonly rgba: Uint8Array; readonly info: HeatmapInfo };
}

/** The candidate's values, or the CLI's one-line InputError naming the file. */
export function readCandidate(c: CandidateSource, x: Tensor): { data: Float64Array; float32: boolean } {
  if ('tensor' in c) return { data: checkValues(c.name, c.tensor.shape, c.tensor.data, x), float32: c.tensor.data instanceof Float32Array };
  const dot = c.name.lastIndexOf('.');
  const ext = dot < 0 ? '' : c.name.slice(dot).toLowerCase();
  if (ext !== '.npy') {
    throw new InputError(
      `${c.name}: unknown candidate type '${ext}', expected a gradient as .npy (the page reads .npy; a module exporting gradient(x, y, options) runs under the CLI: ssim-grad check)`,
    );
  }
  const t = parseNpy(c.bytes, c.name);
  return { data: checkValues(c.name, t.shape, t.data, x), float32: t.dtype === 'float32' };
}

/**
 * Checks a candidate gradient as `ssim-grad check CAND X Y` does: the verdict against the rounding
 * floor, the diagnosis, the report's text and the heatmap. Bad input is an InputError with the
 * CLI's message.
 */
export function checkCandidate(input: BrowserCheckInput, progress?: CheckProgress): BrowserCheckResult {
  const { x, y } = input;
  const options = input.options ?? {};
  const wrt = input.wrt ?? 'x';
  const names = input.names ?? { x: 'x', y: 'y' };
  resolveOptions(options);
  checkVariantOptions(options);
  let cand: { data: Float64Array; float32: boolean };
  try {
    cand = readCandidate(input.candidate, x);
  } catch (e) {
    // as the CLI: a refused candidate on inputs where SSIM itself is not finite names that cause
    if (e instanceof InputError) {
      if (bySsimKernels(options.variant)) ssim(x, y, options);
      else evaluateVariant(x, y, options);
    }
    throw e;
  }
  const result = checkGradient({ x, y, options, wrt, candidate: cand.data, float32: cand.float32, names, progress });
  const shape = shape4(x, 'x');
  const heatmap = heatmapImage(result.candidate, result.exact, shape, bandOf(resolveOptions(options), shape));
  const text = formatCheckReport(result.report, { candidate: input.candidate.name, x: names.x, y: names.y });
  return { report: result.report, text, heatmap };
}
