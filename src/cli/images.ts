/** Reading the image pair and SSIM options that the image commands share. */
import { InputError, shape4, type Tensor } from '../field/index.js';
import { readTensor, type LoadedTensor } from '../io/index.js';
import { PRESET_DEFAULTS, type SsimOptions } from '../runtime/index.js';
import { ssimOptionsFrom, type Parsed } from './args.js';
import { FLOAT32_MAX, overflowMessage } from '../model/finite.js';

/** Reads the two images and the options, filling the data range from uint8 inputs where the preset needs one. */
export function imagesAndOptions(parsed: Parsed, command: string): { x: LoadedTensor; y: LoadedTensor; options: SsimOptions } {
  if (parsed.positionals.length !== 2) {
    throw new InputError(`expected two image files X Y, got ${parsed.positionals.length} (${parsed.positionals.join(' ') || 'none'})`);
  }
  const [xPath, yPath] = parsed.positionals as [string, string];
  // a result that is not finite is told by these names, not the library's x and y
  if (parsed.found !== undefined) parsed.found.imageNames = [xPath, yPath];
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


/** The overflow diagnosis lives with the library (src/model/finite.ts); the CLI's commands import it from here as before. */
export { overflowMessage };
