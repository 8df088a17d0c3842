/**
 * A PNG decoder with no Node imports, for the browser (src/browser): the same tensor as `parsePng`
 * (files.ts, pngjs) gives: RGB(A) and palette images C = 3, gray (with or without alpha) C = 1,
 * alpha dropped, 16-bit samples divided by 65535, 8-bit and lower by 255 (1, 2, 4 bits scaled to
 * 8 first, as pngjs does: v * 255 / (2^depth - 1)). The zlib stream is inflated by the platform's
 * DecompressionStream (browsers, Node >= 18). Interlaced (Adam7) images are not read here.
 * test/io/png-decode.test.ts holds it to parsePng on every colour type and depth.
 */
import { InputError } from '../field/index.js';
import type { LoadedTensor } from './npy.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether the bytes start with the PNG signature. */
export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && SIGNATURE.every((b, i) => buf[i] === b);
}

/** Samples per pixel of each colour type. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

async function inflate(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes PNG bytes into a tensor [C, H, W] with values in [0, 1]; a bad file is an InputError naming `what`. */
export async function decodePng(buf: Uint8Array, what: string): Promise<LoadedTensor> {
  if (!isPng(buf)) throw new InputError(`${what}: not a readable PNG (no PNG signature), expected a .png image`);
  const corrupt = (detail = ''): InputError => new InputError(`${what}: truncated or corrupt PNG${detail}, expected a complete PNG image`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let W = 0, H = 0, depth = 0, colorType = -1, interlace = 0;
  let palette: Uint8Array | null = null;
  let transparent: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  for (let at = 8; at < buf.length && !ended; ) {
    if (at + 8 > buf.length) throw corrupt();
    const length = view.getUint32(at);
    const type = String.fromCharCode(...buf.subarray(at + 4, at + 8));
    const body = buf.subarray(at + 8, at + 8 + length);
    if (at + 12 + length > buf.length) throw corrupt();
    if (type === 'IHDR') {
      W = view.getUint32(at + 8);
      H = view.getUint32(at + 12);
      depth = buf[at + 16]!;
      colorType = buf[at + 17]!;
      interlace = buf[at + 20]!;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparent = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') ended = true;
    at += 12 + length;
  }
  const spp = CHANNELS[colorType];
  if (spp === undefined || W === 0 || H === 0 || ![1, 2, 4, 8, 16].includes(depth)) throw corrupt(' (no valid IHDR chunk)');
  if (interlace !== 0) throw new InputError(`${what}: an interlaced PNG, which the browser page does not decode; save it without interlacing`);
  if (colorType === 3 && palette === null) throw corrupt(' (a palette image without PLTE)');
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((o, c) => (joined.set(c, o), o + c.length), 0);
  let raw: Uint8Array;
  try {
    raw = await inflate(joined);
  } catch {
    throw corrupt();
  }
  const bitsPerPixel = spp * depth;
  const stride = Math.ceil((W * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3); // bytes to the left neighbour in the filters
  if (raw.length < H * (stride + 1)) throw corrupt();
  // unfilter in place, row by row (filter byte, then the row)
  const rows = new Uint8Array(H * stride);
  for (let i = 0; i < H; i++) {
    const filter = raw[i * (stride + 1)]!;
    const src = raw.subarray(i * (stride + 1) + 1, (i + 1) * (stride + 1));
    const row = rows.subarray(i * stride, (i + 1) * stride);
    const up = i > 0 ? rows.subarray((i - 1) * stride, i * stride) : null;
    for (let k = 0; k < stride; k++) {
      const a = k >= bpp ? row[k - bpp]! : 0;
      const b = up ? up[k]! : 0;
      const c = up && k >= bpp ? up[k - bpp]! : 0;
      let v = src[k]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw corrupt(` (unknown filter type ${filter})`);
      row[k] = v & 0xff;
    }
  }
  const C = colorType === 0 || colorType === 4 ? 1 : 3;
  const out = new Float64Array(C * H * W);
  const plane = H * W;
  const maxSample = 2 ** depth - 1;
  const sample = (row: Uint8Array, index: number): number => {
    if (depth === 16) return (row[2 * index]! << 8) | row[2 * index + 1]!;
    if (depth === 8) return row[index]!;
    const bit = index * depth;
    return (row[bit >> 3]! >> (8 - depth - (bit & 7))) & maxSample;
  };
  const key = transparent !== null && (colorType === 0 || colorType === 2)
    ? Array.from({ length: colorType === 0 ? 1 : 3 }, (_, c) => (transparent![2 * c]! << 8) | transparent![2 * c + 1]!)
    : null;
  for (let i = 0; i < H; i++) {
    const row = rows.subarray(i * stride, (i + 1) * stride);
    for (let j = 0; j < W; j++) {
      const p = i * W + j;
      if (colorType === 3) {
        const k = sample(row, j);
        for (let c = 0; c < 3; c++) out[c * plane + p] = (palette![3 * k + c] ?? 0) / 255;
        continue;
      }
      // pngjs zeroes a pixel of tRNS's colour (gray or RGB types), every channel
      if (key !== null && key.every((k, c) => sample(row, j * spp + c) === k)) continue;
      for (let c = 0; c < C; c++) {
        const v = sample(row, j * spp + c);
        // 16 bits keep their 16 (parsePng reads with skipRescale); 1, 2, 4 bits are scaled to 8 and rounded, as pngjs does
        out[c * plane + p] = depth === 16 ? v / 65535 : depth === 8 ? v / 255 : Math.round((v * 255) / maxSample) / 255;
      }
    }
  }
  return { shape: [C, H, W], data: out, dtype: 'float64' };
}
