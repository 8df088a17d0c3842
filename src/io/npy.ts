/**
 * NumPy .npy files: float32, float64 and uint8, C order, any shape (read); float64 or float32 (write).
 *
 * The reader takes what numpy's own reader (numpy/lib/_format_impl.py, read_array) takes, less a
 * few spellings no writer produces: the header is a Python dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape', 'shape' a tuple of non-negative decimal integers, padded
 * with spaces and ending in a newline; versions 1.0, 2.0 and 3.0; data exactly as long as the shape
 * needs. Everything else is an InputError naming the file, on one line.
 */
import { InputError, sizeOf, type Tensor } from '../field/index.js';

/** A tensor read from disk, with the element type it was stored as. */
export interface LoadedTensor extends Tensor {
  readonly dtype: 'float32' | 'float64' | 'uint8';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy's _MAX_HEADER_SIZE: a longer header is refused by numpy.load unless the file is trusted. */
export const NPY_MAX_HEADER = 10000;

/** The dtypes read, by numpy's descr (byte order mark, if any, then kind and size). */
const DESCR = /^([<>|=]?)(f4|f8|u1)$/;

/**
 * Text shown in an error (a header, a value), quoted as Python's repr would (single quotes unless
 * it holds one), with control and non-ASCII characters escaped and long text cut, so that the
 * error stays one line.
 */
export function quoteText(text: string, max = 120): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const q = cut.includes("'") && !cut.includes('"') ? '"' : "'";
  const esc = cut.replace(/[^\x20-\x7e]|['"\\]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\\' || c === q) return `\\${c}`;
    if (c === "'" || c === '"') return c;
    const code = c.charCodeAt(0);
    return code < 256 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return `${q}${esc}${q}${text.length > max ? `... (${text.length} characters)` : ''}`;
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/**
 * The header's dict, read as a Python literal over the subset of Python's syntax numpy writes:
 * single- or double-quoted strings without escapes, True/False, tuples of decimal integers, and
 * spaces, tabs and newlines between tokens (Python's implicit line joining inside brackets).
 */
function parseHeaderDict(header: string, bad: (msg: string) => never): NpyHeader {
  let i = 0;
  const at = (): string => (i < header.length ? `at offset ${i} (${quoteText(header.slice(i, i + 12), 12)})` : 'at its end');
  // the padding is not worth showing
  const shown = quoteText(header.replace(/ +\n$/, '\n'));
  const fail = (what: string): never => bad(`cannot parse the .npy header ${shown}: ${what}`);
  const space = (): void => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t' || header[i] === '\n')) i++;
  };
  const string = (what: string): string => {
    const q = header[i];
    if (q !== "'" && q !== '"') return fail(`expected ${what} as a quoted string ${at()}`);
    const start = ++i;
    while (i < header.length && header[i] !== q) {
      if (header[i] === '\\' || header[i] === '\n') return fail(`${what}: escapes and line breaks inside a string are not read ${at()}`);
      i++;
    }
    if (i >= header.length) return fail(`${what}: unterminated string`);
    return header.slice(start, i++);
  };
  const name = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(header.slice(i, i + 64));
    if (m === null) return fail(`expected True or False ${at()}`);
    i += m[0].length;
    return m[0];
  };
  // numpy takes any Python int (0x3, 1_0, +3, True); a shape is written in decimal, so only that is read
  const dimension = (): number => {
    const m = /^(0|[1-9][0-9]*)/.exec(header.slice(i, i + 20));
    if (m === null) return fail(`shape: expected a non-negative decimal integer ${at()}`);
    i += m[0].length;
    if (i < header.length && !/[ \t\n,)]/.test(header[i]!)) return fail(`shape: expected a non-negative decimal integer, then ',' or ')' ${at()}`);
    const d = Number(m[0]);
    if (!Number.isSafeInteger(d)) return fail(`shape: dimension ${m[0]} is too large`);
    return d;
  };
  const tuple = (): number[] => {
    if (header[i] !== '(') return fail(`shape: expected a tuple such as (3, 4) or (3,) ${at()}`);
    i++;
    space();
    const dims: number[] = [];
    let comma = false;
    while (header[i] !== ')') {
      dims.push(dimension());
      space();
      comma = header[i] === ',';
      if (comma) {
        i++;
        space();
      } else if (header[i] !== ')') return fail(`shape: expected ',' or ')' ${at()}`);
    }
    i++;
    // Python reads (3) as the integer 3, not a tuple
    if (dims.length === 1 && !comma) return fail(`shape (${dims[0]}) is not a tuple, expected (${dims[0]},)`);
    return dims;
  };

  if (header[i] !== '{') return fail(`expected a dict starting with '{' ${at()}`);
  i++;
  space();
  const seen = new Map<string, unknown>();
  while (header[i] !== '}') {
    const key = string('a key');
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') return fail(`unexpected key ${quoteText(key, 40)}, expected exactly 'descr', 'fortran_order' and 'shape'`);
    if (seen.has(key)) return fail(`key '${key}' given twice`);
    space();
    if (header[i] !== ':') return fail(`expected ':' after '${key}' ${at()}`);
    i++;
    space();
    if (key === 'descr') {
      if (header[i] === '[' || header[i] === '(') return bad(`unsupported dtype (a structured array), expected float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')`);
      seen.set(key, string("'descr'"));
    } else if (key === 'fortran_order') {
      const v = name();
      if (v !== 'True' && v !== 'False') return fail(`fortran_order: got ${v}, expected True or False`);
      seen.set(key, v === 'True');
    } else seen.set(key, tuple());
    space();
    if (header[i] === ',') {
      i++;
      space();
    } else if (header[i] !== '}') return fail(`expected ',' or '}' ${at()}`);
  }
  i++;
  for (const key of ['descr', 'fortran_order', 'shape']) if (!seen.has(key)) return fail(`no '${key}' key`);
  // numpy pads with spaces and ends with one newline; anything else after the dict is not a header numpy reads
  if (!/^ *\n$/.test(header.slice(i))) return fail(`expected only spaces and a final newline after the dict, got ${quoteText(header.slice(i), 40)}`);
  return { descr: seen.get('descr') as string, fortranOrder: seen.get('fortran_order') as boolean, shape: seen.get('shape') as number[] };
}

/** Parses an .npy buffer (any view: a Node Buffer from the pool starts at its byteOffset); `what` names the file in errors. */
export function parseNpy(buf: Uint8Array, what: string): LoadedTensor {
  const bad = (msg: string): never => {
    throw new InputError(`${what}: ${msg}`);
  };
  if (buf.length < 10 || MAGIC.some((b, k) => buf[k] !== b)) bad('not an .npy file (no \\x93NUMPY magic)');
  const major = buf[6]!;
  const minor = buf[7]!;
  if (!(major === 1 || major === 2 || major === 3) || minor !== 0) bad(`unsupported .npy version ${major}.${minor}, expected 1.0, 2.0 or 3.0`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (major !== 1 && buf.length < 12) bad('truncated .npy header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (headerLen > NPY_MAX_HEADER) bad(`the .npy header is ${headerLen} bytes, more than numpy's limit of ${NPY_MAX_HEADER}`);
  if (start + headerLen > buf.length) bad(`truncated .npy header: it should be ${headerLen} bytes, the file has ${buf.length - start} after the length field`);
  const raw = buf.subarray(start, start + headerLen);
  // 1.0 and 2.0 are latin1, 3.0 utf8; numpy writes ASCII, and no key or supported value needs more
  const nonAscii = raw.findIndex((b) => b >= 0x80);
  if (nonAscii >= 0) bad(`the .npy header has a non-ASCII byte 0x${raw[nonAscii]!.toString(16)} at offset ${start + nonAscii}`);
  const header = String.fromCharCode(...raw);
  if (!header.endsWith('\n')) bad(`the .npy header ${quoteText(header)} does not end in a newline`);
  const { descr, fortranOrder, shape } = parseHeaderDict(header, bad);
  const d = DESCR.exec(descr);
  if (d === null) bad(`unsupported dtype ${quoteText(descr, 40)}, expected float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')`);
  // numpy would read these transposed into C order; reading the bytes as C order would be silently wrong
  if (fortranOrder) bad('fortran_order is True (a column-major array), which is not read; save a C-order array (numpy.ascontiguousarray)');
  const [, order, type] = d!;
  const size = type === 'f8' ? 8 : type === 'f4' ? 4 : 1;
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  const count = sizeOf(shape);
  const body = start + headerLen;
  const need = count * size;
  const have = buf.length - body;
  if (have < need) bad(`data is truncated: shape ${shapeText} of '${descr}' needs ${need} bytes, the file has ${have}`);
  if (have > need) bad(`${have - need} bytes after the data: shape ${shapeText} of '${descr}' needs ${need} bytes, the file has ${have}`);
  // a copy of the view's own bytes: aligned for the typed array, independent of the file buffer
  const bytes = new Uint8Array(need);
  bytes.set(buf.subarray(body, body + need));
  if (type === 'u1') return { shape, data: Float64Array.from(bytes), dtype: 'uint8' };
  if (order !== '>') return type === 'f8' ? { shape, data: new Float64Array(bytes.buffer), dtype: 'float64' } : { shape, data: new Float32Array(bytes.buffer), dtype: 'float32' };
  const dv = new DataView(bytes.buffer);
  if (type === 'f8') return { shape, data: Float64Array.from({ length: count }, (_, k) => dv.getFloat64(8 * k, false)), dtype: 'float64' };
  return { shape, data: Float32Array.from({ length: count }, (_, k) => dv.getFloat32(4 * k, false)), dtype: 'float32' };
}

/** Serialises a tensor as a version 1.0 .npy (little-endian float64 unless the data is float32). */
export function formatNpy(t: Tensor): Uint8Array {
  const f32 = t.data instanceof Float32Array;
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '<${f32 ? 'f4' : 'f8'}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const bytes = new Uint8Array(10 + header.length + t.data.byteLength);
  bytes.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return bytes;
}
