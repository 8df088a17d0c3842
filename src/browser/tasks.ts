/**
 * The page's long work as named tasks, run on a web worker (worker.ts) or, where none runs, on the
 * calling thread (index.ts): the check of a candidate (with its progress), and the values of every
 * preset (the table). Arguments and results are plain data (structured clone): a variant is a
 * built-in's name or a variant file's source (variant-source.ts), loaded where the task runs.
 */
import { InputError, type Tensor } from '../field/index.js';
import { PRESETS, PRESET_DEFAULTS, type PresetName } from '../model/options.js';
import { evaluateVariant, type VariantOptions } from '../runtime/variants.js';
import { ssim } from '../runtime/ssim.js';
import { checkCandidate, type BrowserCheckResult, type CandidateSource } from './check.js';
import { loadVariantSource, type VariantSource } from './variant-source.js';
import type { CheckProgress } from '../check/schema.js';
import { bySsimKernels } from '../variants/registry.js';

/** Options as a task takes them: a variant by name or by its file's source. */
export type TaskOptions = Omit<VariantOptions, 'variant'> & { readonly variant?: string; readonly variantFile?: VariantSource };

/** The options a task runs with, the variant file loaded. */
export async function resolveTaskOptions(o: TaskOptions): Promise<VariantOptions> {
  const { variantFile, ...rest } = o;
  if (variantFile === undefined) return rest;
  return { ...rest, variant: await loadVariantSource(variantFile) };
}

/**
 * One row of the presets table: the preset, the data range it ran with, SSIM and the variant's
 * value; or, where `ssim-grad value X Y --preset P` refuses (skimage and tf on float images with no
 * data range given), its one-line message and no value.
 */
export type PresetRow =
  | { readonly preset: PresetName; readonly dataRange: number; readonly ssim: number; readonly value: number; readonly error?: undefined }
  | { readonly preset: PresetName; readonly error: string; readonly dataRange?: undefined; readonly ssim?: undefined; readonly value?: undefined };

/**
 * The data range a preset runs with on these images, filled as the CLI fills it (src/cli/images.ts):
 * the one given, else the preset's own, else 255 where both images are uint8; otherwise none
 * (undefined), and the preset's options then refuse with the CLI's message.
 */
export function presetDataRange(preset: PresetName, given: number | undefined, uint8: boolean): number | undefined {
  if (given !== undefined) return given;
  if (PRESET_DEFAULTS[preset].dataRange !== undefined) return undefined;
  return uint8 ? 255 : undefined;
}

/** The arguments of the presets task. */
export interface PresetsArgs {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: TaskOptions;
  readonly uint8?: boolean;
}

/** SSIM (and the variant's value) under every preset, the other options as given. */
export async function presetRows(a: PresetsArgs, progress?: CheckProgress): Promise<PresetRow[]> {
  const base = await resolveTaskOptions(a.options);
  const rows: PresetRow[] = [];
  for (const [i, preset] of PRESETS.entries()) {
    progress?.(i, PRESETS.length, `preset ${preset}`);
    const dataRange = presetDataRange(preset, a.options.dataRange, a.uint8 === true);
    const o: VariantOptions = { ...base, preset, ...(dataRange === undefined ? {} : { dataRange }) };
    try {
      // plain SSIM on its kernels (as `value` runs it), a variant through its graph
      const r = bySsimKernels(o.variant) ? { ssim: ssim(a.x, a.y, o), value: Number.NaN } : evaluateVariant(a.x, a.y, o);
      rows.push({ preset, dataRange: dataRange ?? PRESET_DEFAULTS[preset].dataRange!, ssim: r.ssim, value: Number.isNaN(r.value) ? r.ssim : r.value });
    } catch (e) {
      // the CLI's refusal for this preset (it needs the data range) is the row; anything else is the table's failure
      if (!(e instanceof InputError)) throw e;
      rows.push({ preset, error: e.message });
    }
  }
  progress?.(PRESETS.length, PRESETS.length, 'presets');
  return rows;
}

/** The arguments of the check task. */
export interface CheckArgs {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly candidate: CandidateSource;
  readonly options: TaskOptions;
  readonly wrt?: 'x' | 'y';
  readonly names?: { readonly x: string; readonly y: string };
}

/** A check as `checkCandidate` runs it. */
export async function checkTask(a: CheckArgs, progress?: CheckProgress): Promise<BrowserCheckResult> {
  return checkCandidate({ ...a, options: await resolveTaskOptions(a.options) }, progress);
}

/** The tasks by name (worker.ts runs them from messages). */
export const TASKS: Readonly<Record<string, (args: never, progress: CheckProgress) => Promise<unknown>>> = {
  presets: async (a: PresetsArgs, p?: CheckProgress) => ({ rows: await presetRows(a, p) }),
  check: checkTask,
};
