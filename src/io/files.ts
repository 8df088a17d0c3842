/**
 * Reading images and tensors from .npy, .png and .json, and writing results atomically (a
 * temporary file renamed into place, so a failure never leaves a half-written output).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { PNG } from 'pngjs';
import { InputError, sizeOf } from '../field/index.js';
import { removeOnCleanup } from './cleanup.js';
import { formatNpy, parseNpy, type LoadedTensor } from './npy.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Reads a PNG: RGB(A) becomes C = 3, gray (with or without alpha) C = 1, values in [0, 1]; alpha is
 * dropped. 16-bit images keep their 16 bits (divided by 65535); 8-bit and lower by 255.
 */
export function parsePng(buf: Buffer, what: string): LoadedTensor {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new InputError(`${what}: not a readable PNG (no PNG signature), expected a .png image`);
  const read = (skipRescale: boolean): PNG => {
    try {
      return PNG.sync.read(buf, { skipRescale });
    } catch (e) {
      // pngjs's own words ("There are some read requests waitng on finished stream") say nothing to a user
      const detail = /crc/i.test((e as Error).message) ? ' (a chunk checksum does not match)' : /unsupported|not supported/i.test((e as Error).message) ? ` (${(e as Error).message})` : '';
      throw new InputError(`${what}: truncated or corrupt PNG${detail}, expected a complete PNG image`);
    }
  };
  // pngjs expands every colour type to RGBA; without skipRescale it also cuts 16 bits to 8
  let png = read(true);
  const depth = (png as unknown as { depth?: number }).depth ?? 8;
  if (depth !== 16 && depth !== 8) png = read(false); // 1, 2, 4 bits: pngjs scales them exactly to 8
  const scale = depth === 16 ? 65535 : 255;
  const { width: W, height: H } = png;
  const data = png.data as unknown as ArrayLike<number>;
  const colorType = (png as unknown as { colorType?: number }).colorType;
  const C = colorType === 0 || colorType === 4 ? 1 : 3;
  const out = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[c * H * W + p] = data[4 * p + c]! / scale;
  return { shape: [C, H, W], data: out, dtype: 'float64' };
}

/** Reads {"shape": [...], "data": [...]}. */
export function parseJsonTensor(text: string, what: string): LoadedTensor {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  const o = v as { shape?: unknown; data?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.shape) || !Array.isArray(o.data)) {
    throw new InputError(`${what}: expected a JSON object {"shape": [...], "data": [...]}`);
  }
  if (!o.shape.every((d) => Number.isInteger(d) && d > 0)) throw new InputError(`${what}: "shape" must hold positive integers`);
  const data = o.data.flat(Infinity) as unknown[];
  if (!data.every((d) => typeof d === 'number')) throw new InputError(`${what}: "data" must hold numbers only`);
  const shape = o.shape as number[];
  if (sizeOf(shape) !== data.length) throw new InputError(`${what}: shape [${shape}] needs ${sizeOf(shape)} values, "data" has ${data.length}`);
  return { shape, data: Float64Array.from(data as number[]), dtype: 'float64' };
}

/** Reads a tensor from a .npy, .png or .json file named by `path`. */
export function readTensor(path: string): LoadedTensor {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  if (ext === '.png') return parsePng(buf, path);
  if (ext === '.json') return parseJsonTensor(buf.toString('utf8'), path);
  throw new InputError(`${path}: unknown file type '${ext}', expected .npy, .png or .json`);
}

/**
 * Writes bytes atomically: to a temporary file beside the target, then renamed over it. The
 * temporary file is registered for cleanup, so that an exit or a signal (SIGINT, SIGTERM, SIGHUP)
 * never leaves it behind.
 */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const registered = removeOnCleanup(tmp, { file: true });
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    registered.release();
  } catch (e) {
    registered.dispose();
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot write (${code ?? (e as Error).message})`);
  }
}

/** Writes a float64 .npy. */
export function writeNpy(path: string, shape: readonly number[], data: Float64Array): void {
  writeAtomic(path, formatNpy({ shape, data }));
}
