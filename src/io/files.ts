/**
 * Reading images and tensors from .npy, .png and .json (the type checked from the name first, only
 * regular files, their size and JSON's nesting bounded), and writing results atomically (a
 * temporary file renamed into place, so a failure never leaves a half-written output; several
 * files all or none).
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { PNG } from 'pngjs';
import { InputError, sizeOf } from '../field/index.js';
import { onCleanup, removeOnCleanup } from './cleanup.js';
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

/** The deepest nesting a JSON tensor may have: the object, then one array per axis (HW, CHW, NCHW and more). */
export const JSON_MAX_DEPTH = 64;

/** The largest JSON tensor read, in bytes: JSON.parse holds many times the text's size; larger tensors belong in .npy. */
export const JSON_MAX_BYTES = 256 * 1024 * 1024;

/** The largest .npy or .png read, in bytes (Node reads no more into one buffer). */
export const TENSOR_MAX_BYTES = 2 ** 31 - 1;

/**
 * How deep the text's arrays and objects nest, by one scan over it that skips strings; stops
 * counting past `limit`. JSON.parse and Array.flat recurse, so a deep file must be refused first.
 */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Reads {"shape": [...], "data": [...]}. */
export function parseJsonTensor(text: string, what: string): LoadedTensor {
  const depth = jsonDepth(text, JSON_MAX_DEPTH);
  if (depth > JSON_MAX_DEPTH) throw new InputError(`${what}: JSON nested more than ${JSON_MAX_DEPTH} deep, expected {"shape": [...], "data": [...]} with one array level per axis`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what}: not valid JSON (${(e as Error).message.replace(/\r?\n/g, '\\n')})`);
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

/** What a file that is not a regular file is, for an error. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * A regular file's bytes, at most `max` of them: a device, FIFO or folder is refused before it
 * is opened (a FIFO would block the open, /dev/zero never ends), and a file that grows past `max`
 * while it is read is refused too. `what` names the argument; `hint` says what to do instead.
 */
export function readRegularFile(path: string, max: number, what = path, hint?: string): Buffer {
  const failed = (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${what}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  };
  const tooLarge = (size?: number): never => {
    const limit = `more than the ${max} bytes this file type is read up to${hint === undefined ? '' : ` (${hint})`}`;
    throw new InputError(`${what}: ${size === undefined ? limit : `${size} bytes, ${limit}`}`);
  };
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    return failed(e);
  }
  if (!st.isFile()) throw new InputError(`${what}: is ${kindOf(st)}, expected a regular file`);
  if (st.size > max) tooLarge(st.size);
  let fd: number;
  try {
    // O_NONBLOCK: should the path become a FIFO between the stat and the open, the open still returns
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return failed(e);
  }
  try {
    const again = fstatSync(fd);
    if (!again.isFile()) throw new InputError(`${what}: is ${kindOf(again)}, expected a regular file`);
    // the stat's size, or more for a file that grows (or reports 0, as /proc does), never past max
    let buf = Buffer.allocUnsafe(Math.max(again.size, 0) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > max) tooLarge();
        const grown = Buffer.allocUnsafe(Math.min(2 * buf.length + 65536, max + 1));
        buf.copy(grown, 0, 0, n);
        buf = grown;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > max) tooLarge();
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    return failed(e);
  } finally {
    closeSync(fd);
  }
}

/** Reads a tensor from a .npy, .png or .json file named by `path`; the type is checked before anything is read. */
export function readTensor(path: string): LoadedTensor {
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.png' && ext !== '.json') throw new InputError(`${path}: unknown file type '${ext}', expected .npy, .png or .json`);
  const buf = ext === '.json' ? readRegularFile(path, JSON_MAX_BYTES, path, 'write a large tensor as .npy') : readRegularFile(path, TENSOR_MAX_BYTES);
  if (ext === '.npy') return parseNpy(buf, path);
  if (ext === '.png') return parsePng(buf, path);
  return parseJsonTensor(buf.toString('utf8'), path);
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

/**
 * Writes several files, all or none: every target is checked first (a folder or device where a
 * file goes is refused before anything is written), each is written to a temporary file beside it,
 * and only then are they renamed into place; should any step fail, the files written are removed
 * and any file they replaced is put back. Errors name the path.
 */
export function writeAllAtomic(files: ReadonlyArray<readonly [string, Uint8Array | string]>): void {
  for (const [path] of files) {
    let st: Stats | undefined;
    try {
      st = statSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new InputError(`${path}: cannot write (${code ?? (e as Error).message}), nothing was written`);
    }
    if (st !== undefined && !st.isFile()) throw new InputError(`${path}: is ${kindOf(st)}, expected a file to write (nothing was written)`);
  }
  const temps: string[] = [];
  const backups: Array<readonly [string, string]> = [];
  const placed: string[] = [];
  let current = '';
  // an exit or a signal part-way undoes it as a failure does: temporaries removed, old files put back
  const undo = (): void => {
    for (const p of placed) rmSync(p, { force: true });
    for (const [p, backup] of backups) {
      try {
        renameSync(backup, p);
      } catch {
        // the old file stays at its backup name; the error below still names the target
      }
    }
    for (const t of temps) rmSync(t, { force: true });
  };
  const registered = onCleanup(undo);
  try {
    for (const [path, bytes] of files) {
      current = path;
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
      temps.push(tmp);
      writeFileSync(tmp, bytes);
    }
    for (const [k, [path]] of files.entries()) {
      current = path;
      // the old file is set aside, not overwritten, so that a later failure can put it back
      const backup = join(dirname(path), `.${basename(path)}.${process.pid}.old`);
      if (existsSync(path)) {
        renameSync(path, backup);
        backups.push([path, backup]);
      }
      renameSync(temps[k]!, path);
      placed.push(path);
    }
  } catch (e) {
    registered.dispose();
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${current}: cannot write (${code ?? (e as Error).message}), nothing was written`);
  }
  registered.release();
  for (const [, backup] of backups) rmSync(backup, { force: true });
}

/** Writes a float64 .npy. */
export function writeNpy(path: string, shape: readonly number[], data: Float64Array): void {
  writeAtomic(path, formatNpy({ shape, data }));
}
