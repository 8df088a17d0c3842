/** NumPy .npy files: float32, float64 and uint8, C order, any shape (read); float64 or float32 (write). */
import { InputError, sizeOf, type Tensor } from '../field/index.js';

/** A tensor read from disk, with the element type it was stored as. */
export interface LoadedTensor extends Tensor {
  readonly dtype: 'float32' | 'float64' | 'uint8';
}

const MAGIC = '\x93NUMPY';

/** Parses an .npy buffer; `what` names the file in errors. */
export function parseNpy(buf: Uint8Array, what: string): LoadedTensor {
  const bad = (msg: string): never => {
    throw new InputError(`${what}: ${msg}`);
  };
  if (buf.length < 10 || String.fromCharCode(...buf.subarray(0, 6)) !== MAGIC) bad('not an .npy file (no \\x93NUMPY magic)');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) bad('truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else return bad(`unsupported .npy version ${major}`);
  if (start + headerLen > buf.length) bad('truncated .npy header');
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return bad(`cannot read the .npy header ${header.trim()}`);
  if (fortran === 'True') bad('Fortran-order arrays are not supported, expected C order');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`bad shape (${shapeText})`);
  const count = sizeOf(shape);
  const body = start + headerLen;
  const need = (bytes: number): void => {
    if (buf.length - body < count * bytes) bad(`data is truncated: shape (${shapeText}) needs ${count * bytes} bytes, file has ${buf.length - body}`);
  };
  const copy = (bytes: number): ArrayBuffer => buf.slice(body, body + count * bytes).buffer;
  const little = !descr.startsWith('>');
  const type = descr.replace(/^[<>|=]/, '');
  if (type === 'f8') {
    need(8);
    if (little) return { shape, data: new Float64Array(copy(8)), dtype: 'float64' };
    const dv = new DataView(copy(8));
    return { shape, data: Float64Array.from({ length: count }, (_, i) => dv.getFloat64(8 * i, false)), dtype: 'float64' };
  }
  if (type === 'f4') {
    need(4);
    if (little) return { shape, data: new Float32Array(copy(4)), dtype: 'float32' };
    const dv = new DataView(copy(4));
    return { shape, data: Float32Array.from({ length: count }, (_, i) => dv.getFloat32(4 * i, false)), dtype: 'float32' };
  }
  if (type === 'u1') {
    need(1);
    return { shape, data: Float64Array.from(buf.subarray(body, body + count)), dtype: 'uint8' };
  }
  return bad(`unsupported dtype '${descr}', expected float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')`);
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
