/** Reading the image pair and SSIM options that the image commands share. */
import { InputError, shape4, type Tensor } from '../field/index.js';
import { readTensor, type LoadedTensor } from '../io/index.js';
import { PRESET_DEFAULTS, type SsimOptions } from '../ssim/index.js';
import { ssimOptionsFrom, type Parsed } from './args.js';

/** Reads the two images and the options, filling the data range from uint8 inputs where the preset needs one. */
export function imagesAndOptions(parsed: Parsed, command: string): { x: LoadedTensor; y: LoadedTensor; options: SsimOptions } {
  if (parsed.positionals.length !== 2) {
    throw new InputError(`expected two image files X Y, got ${parsed.positionals.length} (${parsed.positionals.join(' ') || 'none'})`);
  }
  const [xPath, yPath] = parsed.positionals as [string, string];
  const x = readTensor(xPath);
  const y = readTensor(yPath);
  // the user's input is named by its file: non-finite values, and shapes that do not match
  for (const [t, path] of [[x, xPath], [y, yPath]] as const) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new InputError(`${path}: value at flat index ${i} is ${t.data[i]}, expected a finite number`);
  }
  // each file's own rank first, so that a bad one is blamed on its file, not on the other
  shape4(x, xPath);
  shape4(y, yPath);
  if (x.shape.join() !== y.shape.join()) throw new InputError(`${yPath}: shape [${y.shape}] differs from ${xPath}'s shape [${x.shape}]`);
  const options = ssimOptionsFrom(parsed);
  if (options.precision === 'float32') {
    // stored as float32, a larger value becomes Infinity and the result NaN: say which value
    for (const [t, path] of [[x, xPath], [y, yPath]] as const) {
      const i = t.data.findIndex((v) => Math.abs(v) > FLOAT32_MAX);
      if (i >= 0) throw new InputError(`${path}: value at flat index ${i} is ${t.data[i]}, beyond float32's largest ${FLOAT32_MAX.toExponential(2)}, which --precision float32 stores the images in`);
    }
  }
  const preset = options.preset ?? 'pytorch-ssim';
  // skimage and tf take the range from the dtype for integer images: uint8 means 255
  if (options.dataRange === undefined && PRESET_DEFAULTS[preset].dataRange === undefined && x.dtype === 'uint8' && y.dtype === 'uint8') {
    options.dataRange = 255;
  }
  return { x, y, options };
}


const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Why a result is not finite when the inputs are: the largest magnitude the arithmetic meets (a
 * value of X or Y, or the data range) is so large that SSIM's products of four such values
 * (A1 A2 ~ 4 |v|^4, B1 B2 likewise) overflow. Returns a message naming the magnitude and where
 * it comes from, or undefined when the magnitudes are not the cause.
 */
export function overflowMessage(
  images: ReadonlyArray<readonly [Tensor, string]>,
  dataRange: number | undefined,
  arithmetic: 'float64' | 'float32',
): string | undefined {
  let m = dataRange !== undefined && Number.isFinite(dataRange) ? Math.abs(dataRange) : 0;
  let where = 'the data range L (--data-range)';
  for (const [t, path] of images) {
    for (let i = 0; i < t.data.length; i++) {
      const v = Math.abs(t.data[i]!);
      if (v > m) {
        m = v;
        where = `${path} (value at flat index ${i})`;
      }
    }
  }
  const max = arithmetic === 'float64' ? Number.MAX_VALUE : FLOAT32_MAX;
  const limit = (max / 16) ** 0.25;
  if (m <= limit) return undefined;
  return (
    `${where} reaches ${m.toExponential(2)} in magnitude, and SSIM's products of four such values (A1 A2 ~ 4 |v|^4) ` +
    `overflow ${arithmetic}${arithmetic === 'float32' ? ' (the rounding floor is measured in float32 arithmetic)' : ''} beyond about ${limit.toExponential(1)}; ` +
    'scale X, Y and --data-range down by one factor (SSIM does not change)'
  );
}
