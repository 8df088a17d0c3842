/**
 * The browser's PNG decoder (src/io/png-decode.ts) against parsePng (pngjs) on the same bytes: every
 * colour type and bit depth, palettes, a tRNS colour key, all five row filters. The PNGs are written
 * here by a small encoder of the test's own (zlib, its own CRC), so neither reader wrote them.
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePng } from '../../src/io/files.js';
import { decodePng } from '../../src/io/png-decode.js';
import { InputError } from '../../src/field/index.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(body).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

const SPP: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Image {
  readonly W: number;
  readonly H: number;
  readonly colorType: number;
  readonly depth: number;
  /** samples, row-major, SPP per pixel */
  readonly samples: number[];
  readonly filters: number[];
  readonly palette?: number[];
  readonly trns?: number[];
}

/** Encodes an image: packs the samples, filters each row by its filter type, deflates. */
function encode(img: Image): Buffer {
  const { W, H, colorType, depth } = img;
  const spp = SPP[colorType]!;
  const stride = Math.ceil((W * spp * depth) / 8);
  const bpp = Math.max(1, (spp * depth) >> 3);
  const rows: Uint8Array[] = [];
  for (let i = 0; i < H; i++) {
    const row = new Uint8Array(stride);
    for (let s = 0; s < W * spp; s++) {
      const v = img.samples[i * W * spp + s]!;
      if (depth === 16) (row[2 * s] = v >> 8), (row[2 * s + 1] = v & 0xff);
      else if (depth === 8) row[s] = v;
      else row[(s * depth) >> 3]! |= v << (8 - depth - ((s * depth) & 7));
    }
    rows.push(row);
  }
  const raw = new Uint8Array(H * (stride + 1));
  rows.forEach((row, i) => {
    const f = img.filters[i]!;
    raw[i * (stride + 1)] = f;
    const up = i > 0 ? rows[i - 1]! : null;
    for (let k = 0; k < stride; k++) {
      const a = k >= bpp ? row[k - bpp]! : 0, b = up ? up[k]! : 0, c = up && k >= bpp ? up[k - bpp]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      raw[i * (stride + 1) + 1 + k] = (row[k]! - pred) & 0xff;
    }
  });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (img.palette) parts.push(chunk('PLTE', Uint8Array.from(img.palette)));
  if (img.trns) {
    const t = Buffer.alloc(2 * img.trns.length);
    img.trns.forEach((v, c) => t.writeUInt16BE(v, 2 * c));
    parts.push(chunk('tRNS', t));
  }
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const imageArb: fc.Arbitrary<Image> = fc
  .record({ W: fc.integer({ min: 1, max: 9 }), H: fc.integer({ min: 1, max: 6 }), colorType: fc.constantFrom(0, 2, 3, 4, 6) })
  .chain(({ W, H, colorType }) =>
    fc.constantFrom(...DEPTHS[colorType]!).chain((depth) => {
      const max = colorType === 3 ? Math.min(2 ** depth, 6) - 1 : 2 ** depth - 1;
      const n = W * H * SPP[colorType]!;
      return fc.record({
        W: fc.constant(W),
        H: fc.constant(H),
        colorType: fc.constant(colorType),
        depth: fc.constant(depth),
        samples: fc.array(fc.integer({ min: 0, max }), { minLength: n, maxLength: n }),
        filters: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: H, maxLength: H }),
        palette: colorType === 3 ? fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 3 * (max + 1), maxLength: 3 * (max + 1) }) : fc.constant(undefined),
        // a colour key for gray and RGB images, drawn from the samples' range so that it matches some pixels
        trns: colorType === 0 || colorType === 2 ? fc.option(fc.array(fc.integer({ min: 0, max: Math.min(max, 1) }), { minLength: SPP[colorType]!, maxLength: SPP[colorType]! }), { nil: undefined }) : fc.constant(undefined),
      });
    }),
  );

describe('decodePng (no Node imports) equals parsePng (pngjs)', () => {
  it('on random images of every colour type and depth, every filter', async () => {
    await fc.assert(
      fc.asyncProperty(imageArb, async (img) => {
        const bytes = encode(img);
        const want = parsePng(bytes, 'img.png');
        const got = await decodePng(new Uint8Array(bytes), 'img.png');
        expect(got.shape).toEqual(want.shape);
        expect(Array.from(got.data)).toEqual(Array.from(want.data));
      }),
      { numRuns: 150 },
    );
  });

  it('refuses what is not a PNG with the CLI message, and a truncated one', async () => {
    await expect(decodePng(new TextEncoder().encode('hello'), 'a.png')).rejects.toThrow(new InputError('a.png: not a readable PNG (no PNG signature), expected a .png image'));
    const good = encode({ W: 4, H: 3, colorType: 2, depth: 8, samples: Array.from({ length: 36 }, (_, i) => i * 7), filters: [0, 1, 4] });
    await expect(decodePng(new Uint8Array(good.subarray(0, good.length - 30)), 'b.png')).rejects.toThrow(/^b\.png: truncated or corrupt PNG/);
  });
});
