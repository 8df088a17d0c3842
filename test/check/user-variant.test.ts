/**
 * check and trace on a user's variant, declared here and passed as options.variant: everything
 * the checker says about it (floor, verdict, terms, trace) comes from its graph, with no name of
 * it anywhere in ssim-grad. A masked SSIM (a field option) and SSIM of luma (a channel mix before
 * the window, so the terms are carried back through the mix's transpose).
 */
import { describe, expect, it } from 'vitest';
import { fullOptions } from '../../src/check/candidate.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { floorOf } from '../../src/check/floor.js';
import { variantGradient32, variantPieces } from '../../src/check/variant-model.js';
import { formatVariantTrace, traceVariantPixel } from '../../src/check/variant-trace.js';
import { readTensor } from '../../src/io/index.js';
import { evaluateSsim, evaluateVariant, type VariantOptions } from '../../src/runtime/index.js';
import { defineVariant } from '../../src/variants/define.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const masked = defineVariant({
  name: 'masked-ssim',
  summary: 'sum(mask S) / sum(mask), S the SSIM map',
  options: {
    mask: { kind: 'field', help: 'a weight per pixel' },
    gain: { kind: 'number', default: 1, help: 'a factor on the value' },
  },
  loss: ({ x, y, fields, values, g }) => g.affine(g.div(g.mean(g.mul(fields.mask!, g.ssimMap(x, y))), g.mean(fields.mask!)), values.gain as number),
  scaleNote: 'the exact gradient carries mask / sum(mask) at every map pixel',
});

const LUMA = [[0.299, 0.587, 0.114]];
const luma = defineVariant({
  name: 'luma-ssim',
  summary: 'SSIM of the luma of x and y',
  loss: ({ x, y, g }) => g.ssim(g.channels(x, LUMA), g.channels(y, LUMA)),
});

const X = readTensor(EXAMPLE_X);
const Y = readTensor(EXAMPLE_Y);
const [, H, W] = X.shape as [number, number, number];
const mask = { shape: [1, 1, H, W], data: Float64Array.from({ length: H * W }, (_, i) => 0.5 + 0.5 * Math.sin(i / 37)) };

// form: the trace's shape the graph calls for (one windowed map over the images: mapTrace; a map over mixed images: scales)
const CASES: ReadonlyArray<{ name: string; options: VariantOptions; wrt: 'x' | 'y'; form: 'mapTrace' | 'scales' }> = [
  { name: 'masked SSIM map (a field option), d/dx', options: { variant: masked, mask } as VariantOptions, wrt: 'x', form: 'mapTrace' },
  { name: 'masked SSIM map, gain 2, d/dy', options: { variant: masked, mask, gain: 2 } as VariantOptions, wrt: 'y', form: 'mapTrace' },
  { name: 'SSIM of luma (a channel mix before the window), d/dy', options: { variant: luma }, wrt: 'y', form: 'scales' },
];

describe.each(CASES)('a user variant: $name', ({ options, wrt, form }) => {
  const r = evaluateVariant(X, Y, options);
  const exact = wrt === 'x' ? r.gradX : r.gradY;
  const check = (candidate: ArrayLike<number>) => checkGradient({ x: X, y: Y, options, wrt, candidate });

  it('the exact gradient and its float32 rounding are a MATCH; a wrong candidate is a MISMATCH', () => {
    const a = check(exact).report;
    expect(a.verdict).toBe('match');
    expect(a.variant?.name).toBe((options.variant as { name: string }).name);
    expect(a.diagnosis[0]!.kind).toBe('rounding');
    expect(check(Float32Array.from(exact)).report.verdict).toBe('match');
    // the terms the graph gives add up to the exact gradient: each at 1
    expect(a.terms.residual).toBeLessThan(1e-10);
    for (const k of ['mean', 'square', 'cross'] as const) expect(a.terms[k]).toBeCloseTo(1, 8);

    // plain SSIM's gradient (the mask or the mix forgotten) is not the variant's
    const e = evaluateSsim(X, Y, {});
    const wrong = check(wrt === 'x' ? e.gradX : e.gradY).report;
    expect(wrong.verdict).toBe('mismatch');
    // one term scaled: the terms fit says which
    const t = variantPieces(X, Y, options, wrt).terms;
    const off = check(exact.map((v, i) => v + 0.5 * t.cross[i]!)).report;
    expect(off.verdict).toBe('mismatch');
    expect(off.terms.cross).toBeCloseTo(1.5, 6);
    expect(off.diagnosis.find((d) => d.kind === 'terms')!.message).toMatch(/the cross term is scaled/);
  });

  it("the floor is the variant's graph in float32 arithmetic: above float64 rounding, below 1e-4 relative", () => {
    const f = floorOf(variantGradient32(X, Y, options, wrt), exact);
    expect(f.relL2).toBeGreaterThan(1e-9);
    expect(f.relL2).toBeLessThan(1e-4);
    expect(check(exact).report.roundingFloor).toEqual(f);
  });

  it('trace: the parts add up to the exact value at the pixel', () => {
    for (const pixel of [[0, 0, 0, 0], [0, 1, 20, 30], [0, 2, H - 1, W - 1]] as const) {
      const tr = traceVariantPixel({ x: X, y: Y, options, wrt, pixel });
      const p = ((pixel[1] * H) + pixel[2]) * W + pixel[3];
      expect(tr.exact).toBe(exact[p]);
      expect(Math.abs(tr.total - tr.exact)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(tr.exact), 1e-6));
      expect(tr[form], form).toBeDefined();
      expect(tr[form === 'mapTrace' ? 'scales' : 'mapTrace']).toBeUndefined();
      expect(formatVariantTrace(tr)).toMatch(/relative difference/);
    }
  });
});

describe('a user variant through the candidate interface', () => {
  it("a candidate module is told the variant by name, its number options with defaults filled, and its field options as tensors", () => {
    const o = fullOptions({ variant: masked, mask } as VariantOptions) as Record<string, unknown>;
    expect(o['variant']).toBe('masked-ssim');
    expect(o['gain']).toBe(1);
    expect(o['mask']).toBe(mask);
    expect(fullOptions({ variant: 'ms-ssim' }).weights).toEqual([0.0448, 0.2856, 0.3001, 0.2363, 0.1333]);
    expect(fullOptions({ variant: 'wang', beta: 2 })).toMatchObject({ variant: 'wang', alpha: 1, beta: 2, gamma: 1 });
    expect(fullOptions({}).variant).toBeUndefined();
  });
});

describe('a user variant and the subsample', () => {
  it('tiles only where the declaration says so, and never with a field option (a tile cuts x and y only)', async () => {
    const { planSubsample } = await import('../../src/check/subsample.js');
    const { resolveOptions } = await import('../../src/model/options.js');
    const cfg = resolveOptions({});
    const big = [1, 3, 2160, 3840] as const;
    expect(planSubsample(big, cfg, luma)).toBeNull();
    const half = defineVariant({ name: 'half-ssim', summary: 'SSIM / 2', loss: ({ x, y, g }) => g.affine(g.ssim(x, y), 0.5), tiles: true });
    expect(planSubsample(big, cfg, half)).not.toBeNull();
    expect(planSubsample(big, cfg, { ...masked, tiles: true })).toBeNull();
    expect(planSubsample(big, cfg, 'dssim')).not.toBeNull();
    expect(planSubsample(big, cfg, 'ms-ssim')).toBeNull();
  });
});

describe('a user variant in the library', () => {
  it('runs in this process (isolation is the CLI\'s, for --variant-file): its loss is called here, once per evaluation', () => {
    const pids: number[] = [];
    const here = defineVariant({ name: 'here', summary: 'SSIM, noting where its loss runs', loss: ({ x, y, g }) => (pids.push(process.pid), g.ssim(x, y)) });
    const r = evaluateVariant(X, Y, { variant: here });
    expect(pids).toEqual([process.pid]);
    expect(r.value).toBeCloseTo(r.ssim, 12);
  });

  it('defineVariant refuses a malformed declaration with a TypeError naming the field', () => {
    const loss: typeof luma.loss = ({ x, y, g }) => g.ssim(x, y);
    const bad = (d: Record<string, unknown>) => () => defineVariant({ name: 'b', summary: 's', loss, ...d } as never);
    expect(bad({ options: { gain: { kind: 'number', default: 'abc', help: 'h' } } })).toThrow(new TypeError(`variant 'b': options.gain.default must be a finite number, got "abc"`));
    expect(bad({ options: { gain: { kind: 'weird', help: 'h' } } })).toThrow(/^variant 'b': options\.gain\.kind must be 'number', 'numbers' or 'field', got "weird"$/);
    expect(bad({ options: [] })).toThrow(/^variant 'b': options must be an object/);
    expect(bad({ options: { w: { kind: 'numbers', default: [], help: 'h' } } })).toThrow(/options\.w\.default must be a non-empty array of finite numbers/);
    expect(bad({ options: { m: { kind: 'field', default: 1, help: 'h' } } })).toThrow(/options\.m\.default must be absent/);
    expect(bad({ validate: 'no' })).toThrow(/^variant 'b': validate must be a function/);
    expect(bad({ tiles: 'yes' })).toThrow(/^variant 'b': tiles must be true or false/);
    expect(bad({ doc: [{ h2: 3 }] })).toThrow(/^variant 'b': doc\[0\]\.h2 must be a string, got 3$/);
    expect(bad({ loss: 42 })).toThrow(/^variant 'b': loss must be a function/);
    // the built-ins and the ones above pass, as they are
    expect(defineVariant(masked)).toBe(masked);
  });

  it("an option's default passes its own check: a declaration whose check refuses its default is refused, naming the field", () => {
    const loss: typeof luma.loss = ({ x, y, values, g }) => g.affine(g.ssim(x, y), values.lam as number);
    const strict = defineVariant({ name: 'strict', summary: 's', options: { lam: { kind: 'number', default: 1, help: 'h', check: (v) => ((v as number) > 1 ? undefined : 'expected a number above 1') } }, loss });
    expect(() => evaluateVariant(X, Y, { variant: strict })).toThrow(/^variant strict: options\.lam\.default \(--lam\) is 1, which its own check refuses: expected a number above 1$/);
    // a value given is checked as before, and one the check takes runs
    expect(() => evaluateVariant(X, Y, { variant: strict, variantOptions: { lam: 0.5 } })).toThrow(/lam \(--lam\): got 0\.5, expected a number above 1/);
    expect(evaluateVariant(X, Y, { variant: strict, variantOptions: { lam: 2 } }).value).toBeGreaterThan(1);
  });

  it('a number option without a default is required in the library too: an InputError naming it, before the loss reads undefined', () => {
    let called = 0;
    const gained = defineVariant({
      name: 'gained',
      summary: 'gain times SSIM',
      options: { gain: { kind: 'number', flag: 'my-gain', help: 'the factor on SSIM' } },
      loss: ({ x, y, values, g }) => (called++, g.affine(g.ssim(x, y), values.gain as number)),
    });
    expect(() => evaluateVariant(X, Y, { variant: gained })).toThrow(/^gain \(--my-gain\): the gained variant needs it \(the factor on SSIM\); it has no default/);
    expect(called).toBe(0);
    const r = evaluateVariant(X, Y, { variant: gained, variantOptions: { gain: 2 } });
    expect(r.value).toBeCloseTo(2 * r.ssim, 12);
  });
});
