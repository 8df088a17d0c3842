/** Tensor files: .npy (float32, float64, uint8, any of HW/CHW/NCHW, either byte order), .png (8/16-bit, gray/RGB, alpha), .json. */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/field/index.js';
import { formatNpy, JSON_MAX_BYTES, JSON_MAX_DEPTH, parseJsonTensor, parseNpy, parsePng, readTensor, TENSOR_MAX_BYTES } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-io-'));

/** An .npy by hand, independent of formatNpy: header dict, padding, raw bytes. */
function npy(descr: string, shape: number[], bytes: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + bytes.length);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 255, header.length >> 8]);
  out.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  out.set(bytes, 10 + header.length);
  return out;
}

describe('.npy', () => {
  it('reads float32, float64 and uint8 in HW, CHW and NCHW', () => {
    const f32 = parseNpy(npy('<f4', [2, 3], new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 0.25).buffer)), 'a.npy');
    expect(f32.dtype).toBe('float32');
    expect(f32.shape).toEqual([2, 3]);
    expect(Array.from(f32.data)).toEqual([1, 2, 3, 4, 5, 0.25]);
    const f64 = parseNpy(npy('<f8', [1, 2, 1, 2], new Uint8Array(Float64Array.of(0.1, 0.2, 0.3, 0.4).buffer)), 'b.npy');
    expect(f64.shape).toEqual([1, 2, 1, 2]);
    expect(Array.from(f64.data)).toEqual([0.1, 0.2, 0.3, 0.4]);
    const u8 = parseNpy(npy('|u1', [3, 1, 2], Uint8Array.of(0, 17, 128, 200, 254, 255)), 'c.npy');
    expect(u8.dtype).toBe('uint8');
    expect(Array.from(u8.data)).toEqual([0, 17, 128, 200, 254, 255]);
  });

  it('reads big-endian data', () => {
    const be = new Uint8Array(16);
    new DataView(be.buffer).setFloat64(0, 1.5, false);
    new DataView(be.buffer).setFloat64(8, -2.25, false);
    expect(Array.from(parseNpy(npy('>f8', [2], be), 'be.npy').data)).toEqual([1.5, -2.25]);
  });

  it('reads big-endian float32 (>f4) byte by byte as NumPy writes it', () => {
    // numpy.array([1.5, -2.25, 3e-7], dtype='>f4').tobytes(), written out here so no reader or writer of ours is involved.
    const be = Uint8Array.of(0x3f, 0xc0, 0x00, 0x00, 0xc0, 0x10, 0x00, 0x00, 0x34, 0xa1, 0x0f, 0xb0);
    const t = parseNpy(npy('>f4', [1, 3], be), 'be32.npy');
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([1, 3]);
    expect(Array.from(t.data)).toEqual([1.5, -2.25, Math.fround(3e-7)]);
  });

  it('writes what it reads (float64 round trip)', () => {
    const t = { shape: [2, 2, 3], data: Float64Array.from({ length: 12 }, (_, i) => i / 7) };
    const back = parseNpy(formatNpy(t), 'rt.npy');
    expect(back.shape).toEqual(t.shape);
    expect(Array.from(back.data)).toEqual(Array.from(t.data));
  });

  it('names the file and the problem', () => {
    expect(() => parseNpy(npy('<i8', [1], new Uint8Array(8)), 'int.npy')).toThrow(/int\.npy: unsupported dtype '<i8'/);
    expect(() => parseNpy(npy('<f8', [4], new Uint8Array(8)), 'short.npy')).toThrow(/short\.npy: data is truncated/);
    expect(() => parseNpy(new TextEncoder().encode('hello world'), 'x.npy')).toThrow(InputError);
  });
});

function png(width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, values: number[]): Buffer {
  const p = new PNG({ width, height, bitDepth, colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 || colorType === 6 });
  p.data = bitDepth === 16 ? Buffer.from(new Uint16Array(values).buffer) : Buffer.from(values);
  return PNG.sync.write(p, { bitDepth, colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 || colorType === 6 });
}

describe('.png', () => {
  it('gray is one channel, gray+alpha too; RGB and RGBA are three; values in [0, 1]', () => {
    expect(parsePng(png(2, 1, 0, 8, [0, 255]), 'g.png')).toMatchObject({ shape: [1, 1, 2] });
    expect(Array.from(parsePng(png(2, 1, 0, 8, [51, 255]), 'g.png').data)).toEqual([0.2, 1]);
    expect(parsePng(png(1, 1, 4, 8, [102, 7]), 'ga.png').shape).toEqual([1, 1, 1]);
    expect(Array.from(parsePng(png(1, 1, 4, 8, [102, 7]), 'ga.png').data)).toEqual([0.4]);
    const rgb = parsePng(png(1, 2, 2, 8, [255, 0, 51, 0, 255, 102]), 'rgb.png');
    expect(rgb.shape).toEqual([3, 2, 1]);
    expect(Array.from(rgb.data)).toEqual([1, 0, 0, 1, 0.2, 0.4]);
    expect(parsePng(png(1, 1, 6, 8, [10, 20, 30, 40]), 'rgba.png').shape).toEqual([3, 1, 1]);
  });

  it('keeps the 16 bits of a 16-bit image', () => {
    const g = parsePng(png(2, 1, 0, 16, [258, 65535]), 'g16.png');
    expect(Array.from(g.data)).toEqual([258 / 65535, 1]);
    const rgb = parsePng(png(1, 1, 2, 16, [1, 2, 65535]), 'rgb16.png');
    expect(Array.from(rgb.data)).toEqual([1 / 65535, 2 / 65535, 1]);
  });

  it('names an unreadable file', () => {
    expect(() => parsePng(Buffer.from('not a png'), 'bad.png')).toThrow(/bad\.png: not a readable PNG/);
  });
});

describe('.json and dispatch by extension', () => {
  it('reads nested or flat data with a shape', () => {
    expect(Array.from(parseJsonTensor('{"shape": [2, 2], "data": [[1, 2], [3, 4]]}', 'a.json').data)).toEqual([1, 2, 3, 4]);
    expect(() => parseJsonTensor('{"shape": [2], "data": [1, "a"]}', 'b.json')).toThrow(/b\.json: "data" must hold numbers only/);
  });

  it('readTensor picks the reader by extension and names unknown ones', () => {
    writeFileSync(join(dir, 't.json'), '{"shape": [1, 2], "data": [0.5, 1]}');
    expect(Array.from(readTensor(join(dir, 't.json')).data)).toEqual([0.5, 1]);
    writeFileSync(join(dir, 't.tif'), 'x');
    expect(() => readTensor(join(dir, 't.tif'))).toThrow(/unknown file type '\.tif', expected \.npy, \.png or \.json/);
  });
});

describe('bounded reading (issue 17)', () => {
  /** The one-line InputError readTensor throws, within a second whatever the file is. */
  function refused(path: string): string {
    const t0 = performance.now();
    let err: unknown;
    try {
      readTensor(path);
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t0, 'refused quickly').toBeLessThan(1000);
    expect(err).toBeInstanceOf(InputError);
    const m = (err as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    expect(m.startsWith(`${path}: `), m).toBe(true);
    return m;
  }

  it('checks the type before reading: /dev/zero is an unknown file type', () => {
    expect(refused('/dev/zero')).toMatch(/unknown file type '', expected \.npy, \.png or \.json/);
  });

  it('refuses a character device, a FIFO and a folder named .npy, naming what it is', () => {
    const zero = join(dir, 'zero.npy');
    symlinkSync('/dev/zero', zero);
    expect(refused(zero)).toMatch(/is a character device, expected a regular file/);
    const fifo = join(dir, 'fifo.npy');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(refused(fifo)).toMatch(/is a FIFO \(named pipe\), expected a regular file/);
    const folder = join(dir, 'folder.png');
    mkdirSync(folder);
    expect(refused(folder)).toMatch(/is a folder, expected a regular file/);
  });

  it('refuses a file over the size limit without reading it (sparse files)', () => {
    const big = join(dir, 'big.npy');
    closeSync(openSync(big, 'w'));
    truncateSync(big, 3 * 2 ** 30);
    expect(TENSOR_MAX_BYTES).toBeLessThan(3 * 2 ** 30);
    expect(refused(big)).toMatch(new RegExp(`${3 * 2 ** 30} bytes, more than the ${TENSOR_MAX_BYTES} bytes this file type is read up to`));
    const json = join(dir, 'big.json');
    closeSync(openSync(json, 'w'));
    truncateSync(json, 300 * 2 ** 20);
    expect(JSON_MAX_BYTES).toBeLessThan(300 * 2 ** 20);
    expect(refused(json)).toMatch(/big\.json: \d+ bytes, more than the \d+ bytes this file type is read up to \(write a large tensor as \.npy\)/);
    rmSync(big);
    rmSync(json);
  });

  it('refuses JSON nested deeper than the limit before parsing it (no "Maximum call stack")', () => {
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"shape": [1], "data": ${'['.repeat(200_000)}1${']'.repeat(200_000)}}`);
    expect(refused(deep)).toMatch(new RegExp(`JSON nested more than ${JSON_MAX_DEPTH} deep`));
    // brackets inside strings are not nesting
    expect(Array.from(parseJsonTensor(`{"shape": [1], "data": [1], "note": "${'['.repeat(500)}"}`, 'n.json').data)).toEqual([1]);
    // as deep as the limit is read: the object, then the arrays
    const nested = `${'['.repeat(JSON_MAX_DEPTH - 1)}7${']'.repeat(JSON_MAX_DEPTH - 1)}`;
    expect(Array.from(parseJsonTensor(`{"shape": [1], "data": ${nested}}`, 'd.json').data)).toEqual([7]);
  });
});
