/**
 * The library validates like the CLI (issue 17): a wrong type is an InputError naming the key, the
 * value received and its type; an unknown key is refused naming it (and the nearest known key);
 * options that are not an object, and images that are not tensors, are refused naming the
 * argument; a result that would not be finite (overflowing data, extreme constants, 0/0) is an
 * InputError naming the cause, never a silent NaN. A property drives random option objects.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkGradient, defineVariant, evaluateVariant, InputError, resolveOptions, ssim, ssimAsync, ssimFast, ssimGrad,
  ssimGradAsync, ssimGradFast, ssimGradFastAsync, ssimGradReference, ssimReference, terminateWorkers, tracePixel, variantGraph, type Tensor,
} from '../../src/index.js';
import { evaluateSsim } from '../../src/runtime/reference.js';
import { fullOptions } from '../../src/check/candidate.js';
import { mistakesFor } from '../../src/mistakes/assemble.js';

afterAll(() => terminateWorkers());

/** A smooth pseudo-random pair in [0.1, 0.9], 2 x 16 x 17 (fixed: nothing to vary). */
const SHAPE = [2, 16, 17];
const N = SHAPE.reduce((a, b) => a * b, 1);
const X: Tensor = { shape: SHAPE, data: Float64Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.sin(0.37 * i + 1.3 * Math.cos(0.11 * i))) };
const Y: Tensor = { shape: SHAPE, data: Float64Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.cos(0.21 * i + 0.7 * Math.sin(0.05 * i))) };

/** The InputError `f` throws (failing the test when it throws anything else, or nothing). */
function inputError(f: () => unknown): InputError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an InputError').toBeInstanceOf(InputError);
  return thrown as InputError;
}

describe('a wrong type names the key, the value received and its type', () => {
  it.each<[string, unknown, RegExp]>([
    ['sampleCovariance', 'no', /^sampleCovariance \(--sample-covariance\): got 'no' \(a string\), expected true or false$/],
    ['skipShortAxes', 1, /^skipShortAxes \(--skip-short-axes\): got 1 \(a number\), expected true or false$/],
    ['size', '7', /^size \(--size\): got '7' \(a string\), expected an odd integer/],
    ['sigma', '1.5', /^sigma \(--sigma\): got '1\.5' \(a string\), expected a number > 0$/],
    ['truncate', true, /^truncate \(--truncate\): got true \(a boolean\)/],
    ['k1', '0.01', /^k1 \(--k1\): got '0\.01' \(a string\), expected a number >= 0$/],
    ['k2', [0.03], /^k2 \(--k2\): got \[0\.03\] \(an array\)/],
    ['dataRange', '255', /^dataRange \(--data-range\): got '255' \(a string\)/],
    ['crop', { n: 3 }, /^crop \(--crop\): got \{"n":3\} \(an object\)/],
    ['downsample', true, /^downsample \(--downsample\): got true \(a boolean\), expected 'auto' or an integer/],
    ['preset', 3, /^preset \(--preset\): got 3 \(a number\), expected one of pytorch-ssim/],
    ['window', 3, /^window \(--window\): got 3 \(a number\), expected gaussian or box$/],
    ['padding', 0, /^padding \(--padding\): got 0 \(a number\), expected one of same/],
    ['reduction', false, /^reduction \(--reduction\): got false \(a boolean\), expected mean or sum$/],
    ['precision', 32, /^precision \(--precision\): got 32 \(a number\), expected float64 or float32$/],
  ])('%s = %j', (key, value, message) => {
    const e = inputError(() => ssim(X, Y, { [key]: value } as never));
    expect(e.message).toMatch(message);
    // resolveOptions, ssimGrad and evaluateVariant judge by the same table
    expect(inputError(() => resolveOptions({ [key]: value } as never)).message).toBe(e.message);
    expect(inputError(() => ssimGrad(X, Y, { [key]: value } as never)).message).toBe(e.message);
    expect(inputError(() => evaluateVariant(X, Y, { variant: 'dssim', [key]: value } as never)).message).toBe(e.message);
  });

  it('a number out of range is named without its type', () => {
    expect(inputError(() => ssim(X, Y, { size: 4 })).message).toMatch(/^size \(--size\): got 4, expected an odd integer from 1 to 255$/);
    expect(inputError(() => ssim(X, Y, { crop: 1.5 })).message).toMatch(/^crop \(--crop\): got 1\.5, expected an integer >= 0$/);
    expect(inputError(() => ssim(X, Y, { k1: Number.NaN })).message).toMatch(/^k1 \(--k1\): got NaN/);
  });

  it("a variant's options: a wrong type names the key, the value and its type", () => {
    expect(inputError(() => evaluateVariant(X, Y, { variant: 'ms-ssim', weights: 'abc' as never })).message).toMatch(/^weights \(--weights\): got 'abc' \(a string\), expected one or more numbers$/);
    expect(inputError(() => evaluateVariant(X, Y, { variant: '3dgs-loss', lambda: '0.2' as never })).message).toMatch(/^lambda \(--lambda\): got '0\.2' \(a string\), expected a number$/);
    expect(inputError(() => evaluateVariant(X, Y, { variant: 'ms-ssim', weights: [1, '2'] as never })).message).toMatch(/^weights \(--weights\): got \[1,"2"\] \(an array\)/);
    expect(inputError(() => evaluateVariant(X, Y, { variant: 3 as never })).message).toMatch(/^variant \(--variant\): got 3 \(a number\), expected a variant's name/);
    expect(inputError(() => evaluateVariant(X, Y, { variant: 'dssim', variantOptions: 'abc' as never })).message).toMatch(/^variantOptions: got 'abc' \(a string\), expected an object/);
  });
});

describe('unknown keys are refused, naming the key and the nearest known one', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ sizee: 7 }, /^options: unknown key 'sizee' \(did you mean 'size'\?\)/],
    [{ data_range: 1 }, /^options: unknown key 'data_range' \(did you mean 'dataRange'\?\)/],
    [{ samplecovariance: true }, /unknown key 'samplecovariance' \(did you mean 'sampleCovariance'\?\)/],
    [{ weigths: [1, 1] }, /unknown key 'weigths' \(did you mean 'weights'\?\)/],
    [{ zzzzzzzzzz: 1 }, /^options: unknown key 'zzzzzzzzzz', expected one of SSIM's \(preset, /],
  ])('%j', (options, message) => {
    expect(inputError(() => ssim(X, Y, options as never)).message).toMatch(message);
    expect(inputError(() => evaluateVariant(X, Y, options as never)).message).toMatch(message);
  });

  it("keys from the registry are known: the variant's options at the top level, variantOptions, wrt", () => {
    const s = ssim(X, Y);
    // wrt and the variant's keys are what a candidate module is handed (CandidateOptions) and may pass back
    expect(ssim(X, Y, { wrt: 'x' } as never)).toBe(s);
    expect(ssim(X, Y, { variant: 'ssim' } as never)).toBe(s);
    expect(Number.isFinite(evaluateVariant(X, Y, { variant: 'ms-ssim', weights: [0.5, 0.5], size: 7 }).value)).toBe(true);
    // a user's declaration: its own key is known at the top level and in variantOptions
    const scaled = defineVariant({
      name: 'scaled-ssim',
      summary: 'a times SSIM',
      options: { a: { kind: 'number', default: 2, help: 'the factor' } },
      loss: ({ x, y, values, g }) => g.affine(g.ssim(x, y), values['a'] as number),
    });
    const top = evaluateVariant(X, Y, { variant: scaled, a: 3 } as never).value;
    const inside = evaluateVariant(X, Y, { variant: scaled, variantOptions: { a: 3 } }).value;
    expect(top).toBe(inside);
    expect(top).toBeCloseTo(3 * s, 12);
    // an unknown key inside variantOptions is refused too
    expect(inputError(() => evaluateVariant(X, Y, { variant: scaled, variantOptions: { b: 3 } })).message).toMatch(/unknown key 'b'/);
  });
});

describe('options that are not an object are refused at every entry that takes them', () => {
  const entries: Array<[string, (o: unknown) => unknown]> = [
    ['ssim', (o) => ssim(X, Y, o as never)],
    ['ssimGrad', (o) => ssimGrad(X, Y, o as never)],
    ['ssimFast', (o) => ssimFast(X, Y, o as never)],
    ['ssimGradFast', (o) => ssimGradFast(X, Y, o as never)],
    ['ssimReference', (o) => ssimReference(X, Y, o as never)],
    ['ssimGradReference', (o) => ssimGradReference(X, Y, o as never)],
    ['evaluateSsim', (o) => evaluateSsim(X, Y, o as never)],
    ['evaluateVariant', (o) => evaluateVariant(X, Y, o as never)],
    ['variantGraph', (o) => variantGraph(X, Y, o as never)],
    ['resolveOptions', (o) => resolveOptions(o as never)],
    ['fullOptions', (o) => fullOptions(o as never)],
    ['mistakesFor', (o) => mistakesFor(X, Y, o as never)],
    ['checkGradient', (o) => checkGradient({ candidate: X.data, x: X, y: Y, options: o, wrt: 'x' } as never)],
    ['tracePixel', (o) => tracePixel({ x: X, y: Y, options: o, wrt: 'x', pixel: [0, 0, 3, 3] } as never)],
  ];
  for (const [bad, shown] of [[null, 'null'], [7, '7 \\(a number\\)'], ['skimage', "'skimage' \\(a string\\)"], [[1], '\\[1\\] \\(an array\\)'], [{ sizee: 7 }, "unknown key 'sizee'"]] as const) {
    it.each(entries)(`%s(${JSON.stringify(bad)})`, (_, f) => {
      expect(inputError(() => f(bad)).message).toMatch(new RegExp(shown));
    });
  }

  it('the async entries reject with the InputError', async () => {
    await expect(ssimAsync(X, Y, null as never)).rejects.toBeInstanceOf(InputError);
    await expect(ssimGradAsync(X, Y, { sizee: 7 } as never)).rejects.toThrow(/unknown key 'sizee'/);
    await expect(ssimGradFastAsync(X, Y, 'x' as never)).rejects.toThrow(/^options: got 'x' \(a string\)/);
  });
});

describe('images that are not tensors are refused naming the argument', () => {
  it.each<[string, unknown, unknown, RegExp]>([
    ['null x', null, Y, /^x: got null, expected a tensor \{ shape, data \}$/],
    ['undefined y', X, undefined, /^y: got undefined, expected a tensor/],
    ['a number', 3, Y, /^x: got 3 \(a number\), expected a tensor/],
    ['no shape', { data: X.data }, Y, /^x: shape is undefined, expected an array/],
    ['a string shape', { shape: '2x16x17', data: X.data }, Y, /^x: shape is 2x16x17 \(a string\)/],
    ['string data', X, { shape: SHAPE, data: 'abc' }, /^y: data is abc \(a string\), expected a Float64Array, a Float32Array or an array of numbers$/],
    ['a Set as data', X, { shape: SHAPE, data: new Set([1]) }, /^y: data is an object, expected a Float64Array/],
    ['a non-number in an array', { shape: [2, 2], data: [1, 'a', 3, 4] }, { shape: [2, 2], data: [1, 2, 3, 4] }, /^x: value at flat index 1 is 'a' \(a string\), expected a finite number$/],
  ])('%s', (_, x, y, message) => {
    expect(inputError(() => ssim(x as never, y as never)).message).toMatch(message);
    expect(inputError(() => ssimGrad(x as never, y as never)).message).toMatch(message);
    expect(inputError(() => evaluateVariant(x as never, y as never, { variant: 'dssim' })).message).toMatch(message);
  });

  it('an array of numbers is a tensor, an array holding a string is refused naming the index', () => {
    expect(ssim({ shape: SHAPE, data: Array.from(X.data) } as never, Y)).toBe(ssim(X, Y));
    expect(inputError(() => ssim({ shape: [2, 2], data: [1, 'a', 3, 4] } as never, { shape: [2, 2], data: [1, 2, 3, 4] } as never)).message).toMatch(/^x: value at flat index 1 is 'a' \(a string\)/);
  });
});

describe('a result that would not be finite is an InputError naming the cause', () => {
  const scaled = (t: Tensor, s: number, at?: number): Tensor => ({ shape: t.shape, data: t.data.map((v, i) => (at === undefined || i === at ? v * s : v)) });

  it('data near 1e300: the value and the index named, for ssim, ssimGrad, ssimReference and evaluateVariant', () => {
    const big = scaled(X, 1e300, 37);
    for (const f of [() => ssim(big, Y), () => ssimGrad(big, Y), () => ssimReference(big, Y), () => evaluateVariant(big, Y, { variant: 'dssim' })]) {
      expect(inputError(f).message).toMatch(/^the result is NaN under these options; x \(value at flat index 37\) reaches \d\.\d\de\+299 in magnitude, .*overflow float64/);
    }
  });

  it('k1 = k2 = 1e100: refused before any work, naming k1 and its value', () => {
    expect(inputError(() => ssim(X, Y, { k1: 1e100, k2: 1e100 })).message).toMatch(/^k1 \(--k1\): got 1e\+100, and with L = 1 the constant k1 L = 1\.00e\+100 makes SSIM's products .* overflow float64/);
    expect(inputError(() => ssim(X, Y, { k2: 1e100 })).message).toMatch(/^k2 \(--k2\): got 1e\+100/);
    // k alone is moderate, k L is not: the product is what overflows
    expect(inputError(() => ssim(X, Y, { k1: 1e30, dataRange: 1e50 })).message).toMatch(/^k1 \(--k1\): got 1e\+30, and with L = 1e\+50 the constant k1 L = 1\.00e\+80/);
    expect(inputError(() => ssim(X, Y, { dataRange: 1e100 })).message).toMatch(/^dataRange \(--data-range\): the data range L \(--data-range\) reaches 1\.00e\+100 in magnitude/);
  });

  it('flat images with k1 = k2 = 0: the 0/0 named', () => {
    const flat: Tensor = { shape: SHAPE, data: new Float64Array(N).fill(0.5) };
    expect(inputError(() => ssim(flat, flat, { k1: 0, k2: 0 })).message).toMatch(/^the result is NaN under these options; with --k1 0 or --k2 0 a flat window gives 0\/0/);
    expect(inputError(() => ssimGrad(flat, flat, { k1: 0, k2: 0 })).message).toMatch(/0\/0/);
  });

  it("precision 'float32': a value beyond float32 is named, not stored as Infinity", () => {
    expect(inputError(() => ssim(scaled(X, 1e40, 9), Y, { precision: 'float32' })).message).toMatch(/^x: value at flat index 9 is .*, beyond float32's largest 3\.40e\+38/);
  });
});

describe('absurd numbers are refused before anything is built from them', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ size: 999999999 }, /^size \(--size\): got 999999999, expected an odd integer from 1 to 255$/],
    [{ window: 'gaussian', sigma: 1e9, truncate: 3.5 }, /^sigma and truncate \(--sigma, --truncate\): .*7\.00e\+9 taps, expected at most 255/],
    [{ preset: 'skimage', window: 'gaussian', sigma: 1e9, dataRange: 1 }, /^sigma \(--sigma\): .*expected at most 255/],
    [{ truncate: 1e12 }, /^truncate \(--truncate\): .*3\.00e\+12 taps, expected at most 255/],
    [{ truncate: 1e300, sigma: 1e300 }, /^sigma and truncate .*Infinity taps/],
    [{ downsample: 1e12 }, /^downsample \(--downsample\): got 1000000000000, expected 'auto' or an integer >= 1, at most 65536$/],
    [{ crop: 1e300 }, /^crop \(--crop\): got 1e\+300, expected an integer >= 0$/],
  ])('%j', (options, message) => {
    const t = Date.now();
    expect(inputError(() => resolveOptions(options as never)).message).toMatch(message);
    expect(inputError(() => ssim(X, Y, options as never)).message).toMatch(message);
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

describe('property: random options are accepted with a finite result, or refused with an InputError', () => {
  const KEYS = ['preset', 'window', 'size', 'sigma', 'truncate', 'k1', 'k2', 'dataRange', 'padding', 'sampleCovariance', 'crop', 'skipShortAxes', 'downsample', 'reduction', 'precision'];
  const wrong = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.integer({ min: -5, max: 400 }),
    fc.double({ noDefaultInfinity: false, noNaN: false }),
    fc.constantFrom(1e300, -1e300, 1e-300, 1e100, 1e20, 0, -0, 0.5, 1, 3, 7, 11, 255, 257, 65537, Number.NaN, Infinity, -Infinity),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  );
  const right: Record<string, fc.Arbitrary<unknown>> = {
    preset: fc.constantFrom('pytorch-ssim', 'pytorch-msssim', 'skimage', 'tf', 'matlab'),
    window: fc.constantFrom('gaussian', 'box'),
    size: fc.constantFrom(1, 3, 5, 7, 11, 15),
    sigma: fc.constantFrom(0.5, 1.5, 3, 1e-3, 1e6),
    truncate: fc.constantFrom(1, 3.5, 4),
    k1: fc.constantFrom(0, 0.01, 0.1, 1e10),
    k2: fc.constantFrom(0, 0.03, 0.3, 1e10),
    dataRange: fc.constantFrom(1, 255, 1e-12, 1e6, 1e60),
    padding: fc.constantFrom('same', 'valid', 'reflect', 'mirror', 'replicate', 'periodic'),
    sampleCovariance: fc.boolean(),
    crop: fc.constantFrom(0, 1, 3),
    skipShortAxes: fc.boolean(),
    downsample: fc.constantFrom('auto', 1, 2),
    reduction: fc.constantFrom('mean', 'sum'),
    precision: fc.constantFrom('float64', 'float32'),
  };
  const options = fc
    .array(fc.tuple(fc.constantFrom(...KEYS, 'sizee', 'weights', 'variant', 'wrt'), fc.boolean(), wrong), { maxLength: 5 })
    .chain((entries) =>
      fc.tuple(...entries.map(([k, ok, w]) => (ok && right[k] !== undefined ? right[k]!.map((v) => [k, v] as const) : fc.constant([k, w] as const)))),
    )
    .map((entries) => Object.fromEntries(entries));
  const scale = fc.constantFrom(1, 1e-200, 1e6, 1e77, 1e150, 1e300);

  it('ssim, ssimGrad and evaluateVariant: finite, or an InputError (never a TypeError, RangeError or NaN)', () => {
    // the largest window there is runs: the bounds refuse only what is beyond them
    expect(Number.isFinite(ssim(X, Y, { size: 255 }))).toBe(true);
    fc.assert(
      fc.property(options, scale, (o, s) => {
        const x: Tensor = { shape: SHAPE, data: X.data.map((v) => v * s) };
        const y: Tensor = { shape: SHAPE, data: Y.data.map((v) => v * s) };
        const runs = [
          () => [ssim(x, y, o as never)],
          () => {
            const r = ssimGrad(x, y, o as never);
            return [r.ssim, ...r.gradX.data, ...r.gradY.data];
          },
          () => {
            const r = evaluateVariant(x, y, { ...o, variant: 'dssim' } as never);
            return [r.value, r.ssim, ...r.gradX, ...r.gradY];
          },
        ];
        for (const run of runs) {
          let values: number[];
          try {
            values = run();
          } catch (e) {
            if (e instanceof InputError) continue;
            throw e;
          }
          for (const v of values) if (!Number.isFinite(v)) throw new Error(`not finite: ${v} under ${JSON.stringify(o)}, scale ${s}`);
        }
      }),
      { numRuns: 150 },
    );
  });
});
