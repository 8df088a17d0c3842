/**
 * The .npy reader is as strict as numpy's (issue 17): files numpy's writer made are read to the
 * value; headers numpy refuses, or that we would misread (fortran_order True), are refused with one
 * line naming the file; any view of the bytes is read from its own offset. A property over random
 * headers compares acceptance with a model of numpy's rule (test/support/npy-headers.ts) that is
 * itself checked against real numpy's verdicts (test/fixtures/npy/headers.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/field/index.js';
import { parseNpy } from '../../src/io/index.js';
import { HEADER_SAMPLE, headerSpec, numpyReadsHeader, renderFile, renderHeader, weRead } from '../support/npy-headers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'npy');

/** An .npy by hand: magic, version, length field, the header text as given, then the data bytes. */
function npyWith(header: string, data: Uint8Array, version: 1 | 2 | 3 = 1): Uint8Array {
  const len = version === 1 ? 2 : 4;
  const out = new Uint8Array(8 + len + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (len === 2) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(Array.from(header, (c) => c.charCodeAt(0)), 8 + len);
  out.set(data, 8 + len + header.length);
  return out;
}

/** The header numpy writes for a dict body: padded with spaces to a multiple of 64 and a newline. */
const padded = (dict: string): string => dict + ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
const f8 = (...v: number[]): Uint8Array => new Uint8Array(Float64Array.from(v).buffer);

/** The error parseNpy throws (an InputError, one line), or undefined when it reads the file. */
function refusal(bytes: Uint8Array, what = 'h.npy'): string | undefined {
  try {
    parseNpy(bytes, what);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const m = (e as Error).message;
    expect(m.split('\n'), m).toHaveLength(1);
    expect(m.startsWith(`${what}: `), m).toBe(true);
    return m;
  }
}

describe('files written by numpy', () => {
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'files.json'), 'utf8')) as {
    read: Array<{ file: string; shape: number[]; dtype: string; values: number[] }>;
    refused: Array<{ file: string; message: string }>;
  };

  it.each(manifest.read.map((r) => [r.file, r] as const))('%s reads as numpy wrote it', (_, r) => {
    const t = parseNpy(readFileSync(join(FIXTURES, r.file)), r.file);
    expect(t.shape).toEqual(r.shape);
    expect(t.dtype).toBe(r.dtype);
    expect(Array.from(t.data)).toEqual(r.values);
  });

  it.each(manifest.refused.map((r) => [r.file, r] as const))('%s is refused, naming why', (_, r) => {
    expect(refusal(readFileSync(join(FIXTURES, r.file)), r.file)).toContain(r.message);
  });
});

describe('headers numpy refuses, or that would be misread', () => {
  const ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  it('reads the header numpy writes, and with the keys in any order and double quotes', () => {
    expect(Array.from(parseNpy(npyWith(padded(ok), f8(1, 2)), 'a.npy').data)).toEqual([1, 2]);
    expect(parseNpy(npyWith(padded('{"shape": (1, 2), "fortran_order": False, "descr": "<f8"}'), f8(1, 2)), 'b.npy').shape).toEqual([1, 2]);
  });

  it.each([
    ['trailing garbage after the dict', padded(`${ok} junk`), f8(1, 2), /after the dict/],
    ['a hexadecimal dimension', padded("{'descr': '<f8', 'fortran_order': False, 'shape': (0x2,), }"), f8(1, 2), /shape: expected a non-negative decimal integer/],
    ['a float dimension', padded("{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,), }"), f8(1, 2), /shape: expected a non-negative decimal integer/],
    ['a negative dimension', padded("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }"), f8(1, 2), /shape: expected a non-negative decimal integer/],
    ['a shape that is not a tuple', padded("{'descr': '<f8', 'fortran_order': False, 'shape': (2), }"), f8(1, 2), /shape \(2\) is not a tuple, expected \(2,\)/],
    ['fortran_order True', padded("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }"), f8(1, 2), /fortran_order is True/],
    ['fortran_order not a bool', padded("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }"), f8(1, 2), /expected True or False/],
    ['a missing key', padded("{'descr': '<f8', 'shape': (2,), }"), f8(1, 2), /no 'fortran_order' key/],
    ['an extra key', padded("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}"), f8(1, 2), /unexpected key 'x'/],
    ['a key given twice', padded("{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), f8(1, 2), /key 'descr' given twice/],
    ['no final newline', `${ok}     `, f8(1, 2), /does not end in a newline/],
    ['truncated data', padded(ok), f8(1), /data is truncated: shape \(2,\) of '<f8' needs 16 bytes, the file has 8/],
    ['extra data', padded(ok), f8(1, 2, 3), /8 bytes after the data/],
    ['a dtype we do not read', padded("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"), f8(1), /unsupported dtype '<i4'/],
  ])('%s', (_, header, data, message) => {
    expect(refusal(npyWith(header, data))).toMatch(message);
  });

  it('a header with a newline inside is one line of error, the header quoted with \\n', () => {
    const m = refusal(npyWith(padded("{'descr': '<f8',\n 'fortran_order': False,\n 'shape': (2.5,), }"), f8(1, 2)));
    expect(m).toMatch(/\{'descr': '<f8',\\n 'fortran_order'/);
  });

  it('refuses versions other than 1.0, 2.0, 3.0, and reads all three', () => {
    for (const v of [1, 2, 3] as const) expect(Array.from(parseNpy(npyWith(padded(ok), f8(1, 2), v), 'v.npy').data)).toEqual([1, 2]);
    const minor = npyWith(padded(ok), f8(1, 2));
    minor[7] = 1;
    expect(refusal(minor)).toMatch(/unsupported \.npy version 1\.1, expected 1\.0, 2\.0 or 3\.0/);
  });
});

describe('any view of the bytes', () => {
  const file = (): Uint8Array => npyWith(padded("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"), f8(0.5, -1.25, 3));

  it('reads a pooled Buffer (a small Buffer starts part-way into a shared ArrayBuffer)', () => {
    const pooled = Buffer.from(file());
    expect(pooled.byteOffset, 'a pooled Buffer, as Buffer.from and readFileSync make for small files').toBeGreaterThan(0);
    expect(Array.from(parseNpy(pooled, 'p.npy').data)).toEqual([0.5, -1.25, 3]);
  });

  it('reads a view at an unaligned offset, and does not keep the underlying buffer', () => {
    const bytes = file();
    const big = new Uint8Array(bytes.length + 3).fill(0xff);
    big.set(bytes, 3);
    const t = parseNpy(big.subarray(3), 'u.npy');
    expect(Array.from(t.data)).toEqual([0.5, -1.25, 3]);
    big.fill(0);
    expect(Array.from(t.data)).toEqual([0.5, -1.25, 3]);
  });

  it('reads from the offset, not from byte 0, in big-endian too', () => {
    const be = new Uint8Array(16);
    new DataView(be.buffer).setFloat64(0, 1.5, false);
    new DataView(be.buffer).setFloat64(8, -2.25, false);
    const pooled = Buffer.from(npyWith(padded("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }"), be));
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(Array.from(parseNpy(pooled, 'be.npy').data)).toEqual([1.5, -2.25]);
  });
});

describe('random headers', () => {
  it('the model of numpy agrees with real numpy on the committed headers, and we read none that numpy refuses', () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'headers.json'), 'utf8')) as { madeBy: string; headers: Array<{ header: string; numpy: boolean }> };
    const specs = fc.sample(headerSpec, HEADER_SAMPLE);
    expect(doc.headers.length).toBe(specs.length);
    // the committed headers are this sample's: a change to the generator needs `madeBy` run again
    expect(specs.map(renderHeader), `stale: ${doc.madeBy}`).toEqual(doc.headers.map((h) => h.header));
    expect(new Set(doc.headers.map((h) => h.numpy)).size, 'the sample holds headers numpy reads and ones it refuses').toBe(2);
    specs.forEach((spec, k) => {
      expect(numpyReadsHeader(spec), doc.headers[k]!.header).toBe(doc.headers[k]!.numpy);
      if (refusal(renderFile(spec)) === undefined) expect(doc.headers[k]!.numpy, doc.headers[k]!.header).toBe(true);
    });
  });

  it('the reader takes exactly the headers the model says, and throws nothing but a one-line InputError', () => {
    fc.assert(
      fc.property(headerSpec, (spec) => {
        const expected = weRead(spec);
        const bytes = renderFile(spec);
        const m = refusal(bytes);
        expect(m === undefined, `${JSON.stringify(renderHeader(spec))}: ${m}`).toBe(expected !== undefined);
        if (expected !== undefined) {
          const t = parseNpy(bytes, 'h.npy');
          expect(t.shape).toEqual(expected.shape);
          expect(t.dtype).toBe(expected.dtype);
          expect(t.data.length).toBe(expected.shape.reduce((a, b) => a * b, 1));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes after the magic never throw anything but a one-line InputError', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 4), fc.uint8Array({ maxLength: 300 }), (major, rest) => {
        const bytes = new Uint8Array(7 + rest.length);
        bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major]);
        bytes.set(rest, 7);
        refusal(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
