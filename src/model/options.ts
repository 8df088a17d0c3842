/**
 * SSIM options: what a user may set, the presets that reproduce the peers, and validation
 * into one resolved configuration. Explicit options override a preset's.
 */
import { BOUNDARIES, boxTaps, gaussianTaps, InputError, ownEntry, PRECISIONS, truncatedRadius, type Boundary, type Precision } from '../field/index.js';
import { overflowLimit, overflowMessage } from './finite.js';
import { mapSize } from './geometry.js';

/** A preset: the peer whose SSIM the options reproduce by default (the README's presets table). */
export type PresetName = 'pytorch-ssim' | 'pytorch-msssim' | 'skimage' | 'tf' | 'matlab';
/** The presets, in the order --help lists them. */
export const PRESETS: readonly PresetName[] = ['pytorch-ssim', 'pytorch-msssim', 'skimage', 'tf', 'matlab'];

/** Everything a user may set; unset fields come from the preset (default pytorch-ssim). */
export interface SsimOptions {
  preset?: PresetName;
  window?: 'gaussian' | 'box';
  /**
   * Window size (odd). For a Gaussian without a size, 2 int(truncate sigma + 0.5) + 1 when truncate
   * is set. Under the skimage preset with a Gaussian window, as in skimage, the filter always has
   * 2 int(truncate sigma + 0.5) + 1 taps and `size` sets only NP (sample covariance) and the crop.
   */
  size?: number;
  sigma?: number;
  /** Gaussian truncation in standard deviations (scipy's `truncate`). */
  truncate?: number;
  k1?: number;
  k2?: number;
  /** L in C1 = (k1 L)^2, C2 = (k2 L)^2. */
  dataRange?: number;
  padding?: Boundary;
  /** var and cov times NP/(NP-1), NP = size^2 (skimage's use_sample_covariance). */
  sampleCovariance?: boolean;
  /** Pixels cropped from each side of the SSIM map before the mean (skimage: (size-1)/2). */
  crop?: number;
  /** Under 'valid', leave an axis shorter than the window unsmoothed (pytorch-msssim) instead of failing. */
  skipShortAxes?: boolean;
  /** Downsample both images first by an f x f box (Wang's ssim.m): 'auto' = max(1, round(min(H,W)/256)). */
  downsample?: 'auto' | number;
  /** 'mean': mean over batch, channels and the region; 'sum': sum over batch and channels of the per-channel means. */
  reduction?: 'mean' | 'sum';
  /**
   * Storage of inputs and outputs in the generated kernels: 'float64' (default) or 'float32'
   * (inputs rounded to float32, gradients returned as Float32Array; arithmetic stays float64).
   */
  precision?: Precision;
}

/** A fully resolved configuration. */
export interface SsimConfig {
  readonly preset: PresetName;
  readonly window: 'gaussian' | 'box';
  readonly size: number;
  readonly sigma: number;
  readonly taps: Float64Array;
  readonly k1: number;
  readonly k2: number;
  readonly dataRange: number;
  readonly C1: number;
  readonly C2: number;
  readonly padding: Boundary;
  readonly sampleCovariance: boolean;
  /** NP/(NP-1) or 1. */
  readonly covNorm: number;
  readonly crop: number;
  readonly skipShortAxes: boolean;
  readonly downsample: 'auto' | number;
  readonly reduction: 'mean' | 'sum';
  readonly precision: Precision;
}

type PresetDefaults = Required<Omit<SsimOptions, 'preset' | 'truncate' | 'dataRange' | 'precision'>> & { dataRange: number | undefined; truncate: number | undefined };

/**
 * Po-Hsun-Su/pytorch-ssim, pytorch_ssim/__init__.py (`_ssim`): Gaussian 11, sigma 1.5, conv2d
 * with zero padding size//2 ('same'), C1 = 0.01^2, C2 = 0.03^2 (data range 1), mean over every
 * pixel. The same function is rahul-goel/fused-ssim's default (padding "same",
 * fused_ssim/__init__.py) and the 3DGS loss (graphdeco-inria/gaussian-splatting, utils/loss_utils.py).
 */
const PYTORCH_SSIM: PresetDefaults = {
  window: 'gaussian', size: 11, sigma: 1.5, truncate: undefined, k1: 0.01, k2: 0.03, dataRange: 1,
  padding: 'same', sampleCovariance: false, crop: 0, skipShortAxes: false, downsample: 1, reduction: 'mean',
};

/**
 * VainF/pytorch-msssim, pytorch_msssim/ssim.py (`ssim`, `_ssim`, `gaussian_filter`): separable
 * Gaussian 11, sigma 1.5, 'valid' (no padding), smoothing skipped along an axis shorter than the
 * window, K = (0.01, 0.03), data_range 255, spatial mean per channel then mean.
 */
const PYTORCH_MSSSIM: PresetDefaults = { ...PYTORCH_SSIM, padding: 'valid', skipShortAxes: true, dataRange: 255 };

/**
 * scikit-image, skimage/metrics/_structural_similarity.py (`structural_similarity`): box window
 * 7 (uniform_filter) or, with gaussian_weights, Gaussian sigma 1.5 truncated at 3.5 (11 taps),
 * scipy mode 'reflect', sample covariance NP/(NP-1) with NP = win_size^2, the map cropped by
 * (win_size-1)/2 before the mean, per-channel means averaged. data_range is required for float images.
 */
const SKIMAGE: PresetDefaults = {
  window: 'box', size: 7, sigma: 1.5, truncate: 3.5, k1: 0.01, k2: 0.03, dataRange: undefined,
  padding: 'reflect', sampleCovariance: true, crop: 3, skipShortAxes: false, downsample: 1, reduction: 'mean',
};

/**
 * TensorFlow, tensorflow/python/ops/image_ops_impl.py (`ssim`, `_ssim_per_channel`,
 * `_fspecial_gauss`): Gaussian 11, sigma 1.5 (a 2-D softmax, i.e. the normalised outer product),
 * 'VALID' depthwise convolution, k1 0.01, k2 0.03, max_val required, spatial mean then channel mean.
 */
const TF: PresetDefaults = { ...PYTORCH_SSIM, padding: 'valid', dataRange: undefined };

/**
 * Wang et al. 2004, the authors' ssim.m (2009 revision): fspecial('gaussian', 11, 1.5), K = [0.01
 * 0.03], L = 255, automatic downsampling by f = max(1, round(min(M,N)/256)) with an f x f box
 * (imfilter 'symmetric') keeping img(1:f:end, 1:f:end), filter2 'valid', mean2 of the map.
 */
const MATLAB: PresetDefaults = { ...PYTORCH_SSIM, padding: 'valid', dataRange: 255, downsample: 'auto' };

/** Each preset's defaults (window, sigma, boundary, data range, ...), which explicit options override. */
export const PRESET_DEFAULTS: Readonly<Record<PresetName, PresetDefaults>> = {
  'pytorch-ssim': PYTORCH_SSIM,
  'pytorch-msssim': PYTORCH_MSSSIM,
  skimage: SKIMAGE,
  tf: TF,
  matlab: MATLAB,
};

/** One line per preset: what it reproduces (for --help and the README). */
export const PRESET_SUMMARY: Readonly<Record<PresetName, string>> = {
  'pytorch-ssim': 'pytorch-ssim / fused-ssim / 3DGS: Gaussian 11 (1.5), zero padding "same", L = 1, mean over all pixels',
  'pytorch-msssim': "pytorch_msssim.ssim: Gaussian 11 (1.5), 'valid' (short axes unsmoothed), L = 255",
  skimage: "skimage structural_similarity: box 7 (or --window gaussian: 11, sigma 1.5), 'reflect', sample covariance, map cropped by (size-1)/2; --data-range required",
  tf: "tf.image.ssim: Gaussian 11 (1.5), 'valid'; --data-range (max_val) required",
  matlab: "Wang 2004 ssim.m: Gaussian 11 (1.5), 'valid' after automatic f x f box downsampling, L = 255",
};

const fail = (msg: string): never => {
  throw new InputError(msg);
};

/** An option as both faces name it: dataRange (--data-range). */
const named = (key: string): string => `${key} (--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)})`;

/**
 * The largest window, in taps per axis: 23 times the largest any peer uses (11), a Gaussian up to
 * sigma 36 at truncate 3.5. The work per pixel grows with it, so it bounds the work (and the taps'
 * memory) whatever the options say.
 */
export const MAX_WINDOW_SIZE = 255;

/** The largest downsampling factor: an image must keep a pixel, and no image is 65536 pixels a side. */
export const MAX_DOWNSAMPLE = 65536;

/** A received value and its type, for messages: '7' (a string), null, [1,2] (an array). */
export function describeValue(v: unknown): string {
  const type = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? (ArrayBuffer.isView(v) ? 'a typed array' : 'an object') : typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`;
  let shown: string;
  if (typeof v === 'string') shown = `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  else if (typeof v === 'function') shown = 'a function';
  else if (typeof v === 'symbol' || typeof v === 'bigint') shown = String(v);
  else if (v !== null && typeof v === 'object') {
    let j: string | undefined;
    try {
      j = ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})` : JSON.stringify(v);
    } catch {
      j = undefined; // a cycle, a BigInt inside
    }
    shown = j === undefined ? '[object]' : j.length > 40 ? `${j.slice(0, 40)}...` : j;
  } else shown = String(v);
  return type === 'null' || type === 'undefined' ? shown : `${shown} (${type})`;
}

/** One SSIM option's rule: the test of its value and what the message says is expected. */
interface OptionRule {
  readonly ok: (v: unknown) => boolean;
  readonly expected: string;
  /** The type a value must have before its range is judged (a value of another type is named with its type). */
  readonly type: 'number' | 'string' | 'boolean' | 'number or string';
}

const isNumber = (v: unknown): v is number => typeof v === 'number';
const oneOfRule = (values: readonly string[]): OptionRule => ({
  ok: (v) => typeof v === 'string' && values.includes(v),
  expected: values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`,
  type: 'string',
});
const numberRule = (ok: (n: number) => boolean, expected: string): OptionRule => ({ ok: (v) => isNumber(v) && Number.isFinite(v) && ok(v), expected, type: 'number' });
const booleanRule: OptionRule = { ok: (v) => typeof v === 'boolean', expected: 'true or false', type: 'boolean' };

/**
 * Every SSIM option with its type and range, in one table: `validateOptions` judges a user's
 * options by it before anything is built from them (the relations between options, such as the
 * window a sigma and a truncation imply, follow in resolveOptions, also before any allocation).
 */
const OPTION_RULES: { readonly [K in keyof Required<SsimOptions>]: OptionRule } = {
  preset: oneOfRule(PRESETS),
  window: oneOfRule(['gaussian', 'box']),
  size: numberRule((n) => Number.isInteger(n) && n >= 1 && n <= MAX_WINDOW_SIZE && n % 2 === 1, `an odd integer from 1 to ${MAX_WINDOW_SIZE}`),
  sigma: numberRule((n) => n > 0, 'a number > 0'),
  truncate: numberRule((n) => n > 0, 'a number > 0'),
  k1: numberRule((n) => n >= 0, 'a number >= 0'),
  k2: numberRule((n) => n >= 0, 'a number >= 0'),
  dataRange: numberRule((n) => n > 0, 'a number > 0'),
  padding: oneOfRule(BOUNDARIES),
  sampleCovariance: booleanRule,
  crop: numberRule((n) => Number.isSafeInteger(n) && n >= 0, 'an integer >= 0'),
  skipShortAxes: booleanRule,
  downsample: {
    ok: (v) => v === 'auto' || (isNumber(v) && Number.isInteger(v) && v >= 1 && v <= MAX_DOWNSAMPLE),
    expected: `'auto' or an integer >= 1, at most ${MAX_DOWNSAMPLE}`,
    type: 'number or string',
  },
  reduction: oneOfRule(['mean', 'sum']),
  precision: oneOfRule(PRECISIONS),
};

/** SSIM's own option keys. */
export const SSIM_OPTION_KEYS: readonly string[] = Object.keys(OPTION_RULES);

/**
 * The option keys the built-in variants declare. The model sits below the variants, so the registry
 * (src/variants/registry.ts) hands them down when it loads: `declareVariantOptionKeys`.
 */
const VARIANT_OPTION_KEYS = new Set<string>();

/** Adds option keys a variant declares to those an options object may carry (the registry's, at load). */
export function declareVariantOptionKeys(keys: Iterable<string>): void {
  for (const k of keys) VARIANT_OPTION_KEYS.add(k);
}

/**
 * Keys an options object may carry beside SSIM's: the variant and its options (from the
 * registry: every built-in variant's declared keys, and the given declaration's own), and `wrt`,
 * which a candidate module is handed in its options (CandidateOptions) and may pass back to us.
 */
function otherKeys(options: Readonly<Record<string, unknown>>): Set<string> {
  const keys = new Set<string>(['variant', 'variantOptions', 'wrt', ...VARIANT_OPTION_KEYS]);
  const v = options['variant'];
  if (v !== null && typeof v === 'object') {
    const own = (v as { options?: unknown }).options;
    if (own !== null && typeof own === 'object') for (const k of Object.keys(own)) keys.add(k);
  }
  return keys;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known key nearest to a misspelt one (case, dashes and underscores ignored), if one is near. */
export function nearestKey(key: string, known: Iterable<string>): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(norm(key), norm(k));
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Checks that `options` is an options object whose every key is known (SSIM's, a variant's,
 * `wrt`) and whose SSIM options have their type and range: an InputError naming the key, the value
 * received and its type. The one place the library and the CLI judge options by; resolveOptions
 * and resolveVariant call it first.
 */
export function validateOptions(options: unknown): asserts options is SsimOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    fail(`options: got ${describeValue(options)}, expected an object of options such as { preset: 'skimage', dataRange: 1 }`);
  }
  const o = options as Readonly<Record<string, unknown>>;
  let others: Set<string> | undefined;
  for (const key of Object.keys(o)) {
    const rule = ownEntry(OPTION_RULES as Readonly<Record<string, OptionRule>>, key);
    if (rule === undefined) {
      others ??= otherKeys(o);
      if (others.has(key)) continue;
      const near = nearestKey(key, [...SSIM_OPTION_KEYS, ...others]);
      fail(`options: unknown key '${key}'${near !== undefined ? ` (did you mean '${near}'?)` : ''}, expected one of SSIM's (${SSIM_OPTION_KEYS.join(', ')}) or a variant's (${[...others].join(', ')})`);
    }
    const v = o[key];
    if (v === undefined || rule!.ok(v)) continue;
    // a value of the right type is out of range: its type goes without saying
    const rightType = rule!.type === 'number or string' ? typeof v === 'number' || typeof v === 'string' : typeof v === rule!.type;
    fail(`${named(key)}: got ${rightType ? (typeof v === 'string' ? `'${v}'` : String(v)) : describeValue(v)}, expected ${rule!.expected}`);
  }
}

/** Resolves options against their preset, with errors that name the option. */
export function resolveOptions(options: SsimOptions = {}): SsimConfig {
  validateOptions(options);
  const presetName = options.preset ?? 'pytorch-ssim';
  const base = PRESET_DEFAULTS[presetName];

  const window = options.window ?? base.window;
  const sigma = options.sigma ?? base.sigma;
  const truncate = options.truncate ?? base.truncate;
  let size = options.size;
  if (size === undefined) {
    // skimage with gaussian_weights: the window size follows from sigma and truncate
    if (window === 'gaussian' && truncate !== undefined && (options.window !== undefined || options.sigma !== undefined || options.truncate !== undefined)) {
      size = impliedWindow(options, sigma, truncate);
    } else size = base.size;
  }
  const dataRange = options.dataRange ?? base.dataRange;
  if (dataRange === undefined) fail(`${named('dataRange')}: the ${presetName} preset needs the data range, as the peer does for float images`);
  const k1 = options.k1 ?? base.k1;
  const k2 = options.k2 ?? base.k2;
  const sampleCovariance = options.sampleCovariance ?? base.sampleCovariance;
  const NP = size * size;
  if (sampleCovariance && NP < 2) fail(`${named('sampleCovariance')}: needs a window of at least 2 pixels, size is ${size}`);
  // skimage crops (win_size - 1) / 2 of the window it uses
  const crop = options.crop ?? (presetName === 'skimage' ? (size - 1) / 2 : base.crop);
  if (window === 'box' && (options.sigma !== undefined || options.truncate !== undefined)) {
    fail(`${named(options.sigma !== undefined ? 'sigma' : 'truncate')}: only a gaussian window has one, the window is box`);
  }
  const padding = options.padding ?? base.padding;
  if (options.skipShortAxes === true && padding !== 'valid') fail(`${named('skipShortAxes')}: applies under 'valid' padding only, the padding is ${padding}`);
  // skimage with gaussian_weights filters with sigma truncated at `truncate` whatever win_size says;
  // win_size sets only NP (the covariance normaliser) and the crop
  const tapCount = presetName === 'skimage' && window === 'gaussian' ? impliedWindow(options, sigma, truncate ?? 3.5) : size;
  const taps = window === 'gaussian' ? gaussianTaps(tapCount, sigma) : boxTaps(tapCount);
  if (!taps.every(Number.isFinite)) fail(`${named('sigma')}: got ${sigma}, too small for a ${tapCount}-tap Gaussian (its taps underflow)`);
  // a data range, or a constant k L, beyond SSIM's products overflows whatever the images are
  const tooLarge = overflowMessage([], dataRange, 'float64');
  if (tooLarge !== undefined) fail(`${named('dataRange')}: ${tooLarge}`);
  const limit = overflowLimit('float64');
  for (const [key, k] of [['k1', k1], ['k2', k2]] as const) {
    if (k * dataRange! > limit) {
      fail(`${named(key)}: got ${k}, and with L = ${dataRange} the constant ${key} L = ${(k * dataRange!).toExponential(2)} makes SSIM's products (C1 C2 = (k1 k2 L^2)^2) overflow float64 beyond about ${limit.toExponential(1)}; expected ${key} L below that (the peers use k1 = 0.01, k2 = 0.03)`);
    }
  }
  const C1 = (k1 * dataRange!) ** 2;
  const C2 = (k2 * dataRange!) ** 2;
  return {
    preset: presetName,
    window,
    size,
    sigma,
    taps,
    k1,
    k2,
    dataRange: dataRange!,
    C1,
    C2,
    padding,
    sampleCovariance,
    covNorm: sampleCovariance ? NP / (NP - 1) : 1,
    crop,
    skipShortAxes: options.skipShortAxes ?? base.skipShortAxes,
    downsample: options.downsample ?? base.downsample,
    reduction: options.reduction ?? base.reduction,
    precision: options.precision ?? 'float64',
  };
}

/**
 * The Gaussian's taps that sigma and the truncation imply, 2 int(truncate sigma + 0.5) + 1,
 * checked against MAX_WINDOW_SIZE before any tap is built; the error names what the user set.
 */
function impliedWindow(options: SsimOptions, sigma: number, truncate: number): number {
  const taps = 2 * truncatedRadius(sigma, truncate) + 1;
  if (!(taps <= MAX_WINDOW_SIZE)) {
    const given = options.truncate !== undefined && options.sigma !== undefined ? 'sigma and truncate (--sigma, --truncate)' : named(options.sigma !== undefined ? 'sigma' : 'truncate');
    fail(`${given}: sigma ${sigma} truncated at ${truncate} sigmas gives a Gaussian of 2 int(truncate sigma + 0.5) + 1 = ${taps < 1e6 ? taps : taps.toExponential(2)} taps, expected at most ${MAX_WINDOW_SIZE} (a smaller sigma or truncate, or --size)`);
  }
  return taps;
}

/** MATLAB's factor: max(1, round(min(H, W) / 256)), rounding halves up as MATLAB does for positives. */
export function downsampleFactor(config: SsimConfig, H: number, W: number): number {
  if (config.downsample === 'auto') return Math.max(1, Math.round(Math.min(H, W) / 256));
  return config.downsample;
}

/** The taps along each axis, the SSIM map's size, the crop, the region the loss averages and its weight, for images of H x W. */
export interface MapGeometry {
  readonly tapsH: Float64Array;
  readonly tapsW: Float64Array;
  /** Height and width of the SSIM map (the image's under same-size rules, smaller under 'valid'). */
  readonly MH: number;
  readonly MW: number;
  /** Map pixels cropped from each side before the reduction. */
  readonly crop: number;
  /** Map pixels per plane that the loss averages (the map less the crop). */
  readonly region: number;
  /** The weight omega of one averaged map pixel: 1 / (planes region) for a mean, 1 / region for a sum. */
  readonly omega: number;
}

/**
 * Where the window and the crop fit an image of H x W (after downsampling by f), and the errors
 * that name what does not fit; `planes` (N C) is what a mean averages over besides the region. The
 * one place these rules live: the reference, the kernels' plan, the checker's strips and MS-SSIM's
 * scales all ask here (the map's size itself: mapSize in geometry.ts, which the kernels call too).
 */
export function mapGeometry(config: SsimConfig, H: number, W: number, f = 1, planes = 1): MapGeometry {
  const k = Math.max(config.size, config.taps.length); // skimage with a Gaussian: the taps may outnumber win_size
  const short = H < k || W < k;
  if (short && config.padding === 'valid' && !config.skipShortAxes) {
    fail(`x: image of ${H} x ${W}${f > 1 ? ` (after downsampling by ${f})` : ''} is smaller than the ${k} x ${k} window under 'valid' padding`);
  }
  if (short && config.crop > 0) fail(`x: image of ${H} x ${W} is smaller than the ${k} x ${k} window (the ${config.preset} preset needs at least ${k} x ${k})`);
  // pytorch-msssim: under 'valid', an axis shorter than the window is left unsmoothed
  const axisTaps = (n: number): Float64Array => (config.padding === 'valid' && n < config.taps.length ? Float64Array.of(1) : config.taps);
  const tapsH = axisTaps(H);
  const tapsW = axisTaps(W);
  const { MH, MW } = mapSize(config.padding, H, W, tapsH.length, tapsW.length);
  const c = config.crop;
  if (2 * c >= MH || 2 * c >= MW) fail(`crop (--crop): cropping ${c} pixels from each side leaves nothing of the ${MH} x ${MW} SSIM map`);
  const region = (MH - 2 * c) * (MW - 2 * c);
  return { tapsH, tapsW, MH, MW, crop: c, region, omega: config.reduction === 'mean' ? 1 / (planes * region) : 1 / region };
}
