/**
 * A small, strict argument parser: positionals, `--flag`, `--name value` and `--name=value`.
 * Unknown options, and an option given twice, are errors that name the option (exit code 2), never ignored.
 */
import { BOUNDARIES, DECIMAL, InputError, ownEntry, PRECISIONS, shape4, type Boundary, type Tensor } from '../field/index.js';
import { BOUNDARY_RULES } from '../field/boundary.js';
import { quoteText, readTensor } from '../io/index.js';
import { PRESETS, type SsimOptions } from '../runtime/index.js';
import { checkVariantOptions, type VariantOptions } from '../runtime/variants.js';
import { flagOf } from '../variants/define.js';
import { BUILT_IN_VARIANTS, VARIANT_NAMES, variantName } from '../variants/registry.js';
import type { OptionDeclaration, VariantDeclaration } from '../variants/types.js';
import { VARIANT_FILE, type LoadedVariant } from './variant-file.js';
import { DEFAULT_TIMEOUT_S } from './isolate.js';

export interface OptionSpec {
  /** Takes a value (`--size 11`) or is a switch (`--json`). */
  value: boolean;
  help: string;
  /** Shown as the default in --help. */
  default?: string;
}

export interface Parsed {
  /** The arguments as given (for headers that name the command that made a file). */
  raw: readonly string[];
  positionals: string[];
  values: Map<string, string>;
  switches: Set<string>;
  /** The user's variant named by --variant-file, loaded before the arguments were parsed (its flags are among the specs). */
  variantFile?: LoadedVariant;
  /**
   * What the command found as it ran, shared by copies of the parse (`{ ...parsed }`): the files X
   * and Y once read, the names a NonFiniteError's message is given (src/model/finite.ts).
   */
  found?: { imageNames?: readonly [string, string] };
}

export function parseArgs(argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>, command: string): Parsed {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = ownEntry(specs, name);
    if (spec === undefined) throw new InputError(`unknown option --${name} (see ssim-grad ${command} --help)`);
    if (!spec.value) {
      if (eq >= 0) throw new InputError(`--${name}: takes no value, got '${arg.slice(eq + 1)}'`);
      if (switches.has(name)) throw new InputError(`--${name}: given twice, expected at most once`);
      switches.add(name);
      continue;
    }
    const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new InputError(`--${name}: expected a value`);
    // the last one silently winning would hide a typo in a long command line
    const before = values.get(name);
    if (before !== undefined) throw new InputError(`--${name}: given twice ('${before}' and '${v}'), expected at most once`);
    values.set(name, v);
  }
  return { raw: argv, positionals, values, switches, found: {} };
}

/** --json: print one JSON object (the commands that print results). */
export const JSON_SPEC: OptionSpec = { value: false, help: 'print one JSON object' };

/** --timeout of the commands whose only user code is a --variant-file's (check and trace have their own, for both). */
export const VARIANT_TIMEOUT_SPEC: OptionSpec = {
  value: true,
  help: "seconds one call into a --variant-file's code (its import, loss, validate, an option's check) may run before it is stopped (exit 2)",
  default: String(DEFAULT_TIMEOUT_S),
};

/** The SSIM options every image command takes. */
export const SSIM_OPTION_SPECS: Readonly<Record<string, OptionSpec>> = {
  preset: { value: true, help: `peer to reproduce: ${PRESETS.join(', ')}`, default: 'pytorch-ssim' },
  window: { value: true, help: 'window shape: gaussian or box', default: "the preset's" },
  gaussian: { value: false, help: 'same as --window gaussian (skimage: gaussian_weights=True, 11 taps, sigma 1.5)' },
  size: { value: true, help: 'window size, odd', default: "the preset's (11; skimage 7)" },
  sigma: { value: true, help: 'Gaussian standard deviation', default: '1.5' },
  truncate: { value: true, help: 'Gaussian truncation in sigmas; sets the size when --size is absent', default: 'skimage: 3.5' },
  k1: { value: true, help: 'luminance constant, C1 = (k1 L)^2', default: '0.01' },
  k2: { value: true, help: 'contrast constant, C2 = (k2 L)^2', default: '0.03' },
  'data-range': { value: true, help: 'data range L', default: 'pytorch-ssim 1, pytorch-msssim and matlab 255, skimage and tf required (255 for uint8 .npy)' },
  padding: { value: true, help: `boundary rule: ${BOUNDARIES.join(', ')} (${BOUNDARIES.flatMap((b) => (BOUNDARY_RULES[b].help === undefined ? [] : [`${b} = ${BOUNDARY_RULES[b].help}`])).join(', ')})`, default: "the preset's" },
  'sample-covariance': { value: false, help: 'variances and covariance times NP/(NP-1), NP = size^2', default: 'skimage on, the other presets off' },
  'no-sample-covariance': { value: false, help: 'population variances and covariance', default: 'skimage off, the other presets on' },
  crop: { value: true, help: 'pixels cropped from each side of the SSIM map before the mean', default: 'skimage (size-1)/2, else 0' },
  downsample: { value: true, help: "downsample both images first by an f x f box: auto (MATLAB's rule) or f", default: 'matlab auto, else 1' },
  'skip-short-axes': { value: false, help: "under 'valid', leave an axis shorter than the window unsmoothed", default: 'pytorch-msssim on, the other presets off' },
  reduction: { value: true, help: 'mean (over batch, channels, pixels) or sum (of per-channel means)', default: 'mean' },
  precision: { value: true, help: 'kernel storage: float64 or float32 (gradient still written as float64 .npy)', default: 'float64' },
};

/** A variant option's flag spec, from its declaration. */
export function optionSpecOf(o: OptionDeclaration): OptionSpec {
  const help = o.kind === 'field' ? `${o.help} (required: a .npy or .png file)` : o.help;
  const d = o.default;
  return d === undefined ? { value: true, help } : { value: true, help, default: typeof d === 'number' ? String(d) : d.join(',') };
}

/** A declaration's options as flag specs, by flag. */
export function declarationSpecs(decl: VariantDeclaration): Record<string, OptionSpec> {
  return Object.fromEntries(Object.entries(decl.options ?? {}).map(([key, o]) => [flagOf(key, o), optionSpecOf(o)]));
}

/** The flags of the built-in variants' options (--weights, --lambda, ...), from the registry. */
export const BUILT_IN_VARIANT_FLAGS: ReadonlySet<string> = new Set(BUILT_IN_VARIANTS.flatMap((d) => Object.keys(declarationSpecs(d))));

/** The options of the variants (value, grad, check, trace): --variant, --variant-file and every built-in's own, from the registry. */
export const VARIANT_OPTION_SPECS: Readonly<Record<string, OptionSpec>> = {
  variant: { value: true, help: `what to compute: ${VARIANT_NAMES.join(', ')}`, default: variantName(undefined) },
  [VARIANT_FILE]: {
    value: true,
    help: "your own variant: a .ts, .mts, .js or .mjs module whose default export is a declaration (defineVariant); its options become flags",
  },
  ...Object.assign({}, ...BUILT_IN_VARIANTS.map(declarationSpecs)),
};


/**
 * One variant option's value from its flag, as its kind says: a number, comma-separated numbers,
 * or a field read from a .npy or .png file, which must broadcast against X's shape.
 */
function optionValue(parsed: Parsed, flag: string, o: OptionDeclaration, x: Tensor | undefined): unknown {
  const v = parsed.values.get(flag);
  if (v === undefined) return undefined;
  if (o.kind === 'number') return number(parsed, flag);
  if (o.kind === 'numbers') return numbers(parsed, flag);
  let t: Tensor;
  try {
    t = readTensor(v);
  } catch (e) {
    throw e instanceof InputError ? new InputError(`--${flag}: ${e.message}`) : e;
  }
  const bad = t.data.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new InputError(`--${flag}: ${v}: value at flat index ${bad} is ${t.data[bad]}, expected a finite number`);
  const s = shape4(t, `--${flag}: ${v}`);
  if (x !== undefined) {
    const xs = shape4(x, 'x');
    if (s.some((d, i) => d !== 1 && d !== xs[i])) {
      throw new InputError(`--${flag}: ${v} has shape [${t.shape.join(', ')}], which does not broadcast against X's shape [${x.shape.join(', ')}] (each of N, C, H, W equal to X's or 1)`);
    }
  }
  return t;
}

/**
 * The variant and its options named on the command line, over the SSIM options: a built-in by
 * --variant with its flags (at their keys, as the library takes them), or the user's declaration
 * of --variant-file with its own flags (in `variantOptions`). `x` is the image a field option must
 * broadcast against. `filledRange` is the data range the command filled from the images (uint8: 255,
 * src/cli/images.ts) where none was given, so that the options are checked as they will run.
 */
export function variantOptionsFrom(parsed: Parsed, x?: Tensor, filledRange?: number): VariantOptions {
  const o: VariantOptions = ssimOptionsFrom(parsed);
  if (o.dataRange === undefined && filledRange !== undefined) o.dataRange = filledRange;
  const file = parsed.variantFile;
  if (file !== undefined && parsed.values.has('variant')) {
    throw new InputError(`--${VARIANT_FILE}: conflicts with --variant ${parsed.values.get('variant')}; give one or the other`);
  }
  const variant = oneOf(parsed, 'variant', VARIANT_NAMES);
  if (variant !== undefined) o.variant = variant;
  const own = Object.entries(file?.decl.options ?? {});
  const ownFlags = new Set(own.map(([key, opt]) => flagOf(key, opt)));
  const top = o as Record<string, unknown>;
  for (const decl of BUILT_IN_VARIANTS) {
    for (const [key, opt] of Object.entries(decl.options ?? {})) {
      const flag = flagOf(key, opt);
      if (ownFlags.has(flag)) continue;
      const v = optionValue(parsed, flag, opt, x);
      if (v !== undefined) top[key] = v;
    }
  }
  if (file !== undefined) {
    o.variant = file.decl;
    const values: Record<string, unknown> = {};
    for (const [key, opt] of own) {
      const v = optionValue(parsed, flagOf(key, opt), opt, x);
      if (v !== undefined) values[key] = v;
    }
    o.variantOptions = values;
  }
  // one set of rules for the library and the CLI: an option of another variant, a divisor of 3, a missing field, ...
  checkVariantOptions(o);
  return o;
}


/** A comma-separated numbers option (a variant's --weights), or undefined when it is not given. */
export function numbers(parsed: Parsed, flag: string): number[] | undefined {
  const v = parsed.values.get(flag);
  if (v === undefined) return undefined;
  // each item a decimal number as number() reads one: Number('') is 0, so ',' would be [0, 0]
  const items = v.split(',').map((s) => s.trim());
  const k = items.findIndex((s) => !DECIMAL.test(s) || !Number.isFinite(Number(s)));
  if (k >= 0) throw new InputError(`--${flag}: got ${quoteText(v)}, expected comma-separated numbers (item ${k + 1} is ${items[k] === '' ? 'empty' : quoteText(items[k]!)})`);
  return items.map(Number);
}

/** A decimal number option, or undefined when it is not given. */
export function number(parsed: Parsed, name: string, expected = 'a number'): number | undefined {
  const v = parsed.values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  // decimal notation only: Number() would also take '0x3', '0b11' or ' 7 '
  if (!DECIMAL.test(v) || !Number.isFinite(n)) throw new InputError(`--${name}: got '${v}', expected ${expected}`);
  return n;
}

function oneOf<T extends string>(parsed: Parsed, name: string, allowed: readonly T[]): T | undefined {
  const v = parsed.values.get(name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new InputError(`--${name}: got '${v}', expected one of ${allowed.join(', ')}`);
  return v as T;
}

/** The SSIM options named on the command line (only those given; the preset fills the rest). */
export function ssimOptionsFrom(parsed: Parsed): SsimOptions {
  const o: SsimOptions = {};
  const preset = oneOf(parsed, 'preset', PRESETS);
  if (preset !== undefined) o.preset = preset;
  const window = oneOf(parsed, 'window', ['gaussian', 'box'] as const);
  if (parsed.switches.has('gaussian')) {
    if (window === 'box') throw new InputError('--gaussian: conflicts with --window box');
    o.window = 'gaussian';
  } else if (window !== undefined) o.window = window;
  const nums: Array<[string, 'size' | 'sigma' | 'truncate' | 'k1' | 'k2' | 'dataRange' | 'crop']> = [
    ['size', 'size'], ['sigma', 'sigma'], ['truncate', 'truncate'], ['k1', 'k1'], ['k2', 'k2'], ['data-range', 'dataRange'], ['crop', 'crop'],
  ];
  for (const [flag, key] of nums) {
    const n = number(parsed, flag);
    if (n !== undefined) o[key] = n;
  }
  const padding = oneOf(parsed, 'padding', BOUNDARIES as readonly Boundary[]);
  if (padding !== undefined) o.padding = padding;
  if (parsed.switches.has('sample-covariance') && parsed.switches.has('no-sample-covariance')) {
    throw new InputError('--sample-covariance: conflicts with --no-sample-covariance');
  }
  if (parsed.switches.has('sample-covariance')) o.sampleCovariance = true;
  if (parsed.switches.has('no-sample-covariance')) o.sampleCovariance = false;
  if (parsed.switches.has('skip-short-axes')) o.skipShortAxes = true;
  const ds = parsed.values.get('downsample');
  if (ds !== undefined) o.downsample = ds === 'auto' ? 'auto' : (number(parsed, 'downsample') as number);
  const reduction = oneOf(parsed, 'reduction', ['mean', 'sum'] as const);
  if (reduction !== undefined) o.reduction = reduction;
  const precision = oneOf(parsed, 'precision', PRECISIONS);
  if (precision !== undefined) o.precision = precision;
  return o;
}

/** Help lines for a set of option specs. */
export function describeOptions(specs: Readonly<Record<string, OptionSpec>>): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const head = `  --${name}${s.value ? ' VALUE' : ''}`;
      const tail = s.default !== undefined ? `${s.help} (default: ${s.default})` : s.help;
      return `${head.padEnd(28)} ${tail}`;
    })
    .join('\n');
}

/** One CLI command: its usage line, options, and how it runs (returning the exit code). */
export interface Command {
  usage: string;
  summary: string;
  /** More for `COMMAND --help`, after the summary (what a candidate module is handed, ...). */
  details?: string;
  options: Readonly<Record<string, OptionSpec>>;
  run(parsed: Parsed, out: (s: string) => void): number | Promise<number>;
}
