/** Where, scale and terms: the parts of the diagnosis that do not need a named mistake; and the heatmap. */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { inBand, regionErrors, scaleFit, termFit } from '../../src/check/compare.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { inferno, renderHeatmap } from '../../src/check/heatmap.js';
import { mistakesFor } from '../../src/mistakes/assemble.js';
import { formatCheckReport } from '../../src/check/report.js';
import { evaluateSsim } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from './configs.js';

const cfg = CHECK_CONFIGS[0]!;
const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
const [N, C, H, W] = e.shape;
const t = e.termsX;

describe('fits', () => {
  it('the term fit recovers the coefficients of any combination of the three terms', () => {
    const cand = t.mean.map((v, i) => 0.5 * v + 2 * t.square[i]! - 1 * t.cross[i]!);
    const f = termFit(cand, [t.mean, t.square, t.cross]);
    expect(f.mean).toBeCloseTo(0.5, 10);
    expect(f.square).toBeCloseTo(2, 10);
    expect(f.cross).toBeCloseTo(-1, 10);
    expect(f.residual).toBeLessThan(1e-10);
  });

  it('the scale fit finds k and leaves no residual for a pure scale, a large one for something else', () => {
    expect(scaleFit(e.gradX.map((v) => -3 * v), e.gradX).k).toBeCloseTo(-3, 12);
    expect(scaleFit(e.gradX.map((v) => -3 * v), e.gradX).residual).toBeLessThan(1e-14);
    expect(scaleFit(e.gradY, e.gradX).residual).toBeGreaterThan(0.1);
  });

  it('a dropped factor 2 on the square term shows in the term fit', () => {
    const cand = e.gradX.map((v, i) => v - t.square[i]! / 2);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: cand }).report;
    expect(r.terms.square).toBeCloseTo(0.5, 8);
    expect(r.diagnosis.find((d) => d.kind === 'terms')!.message).toMatch(/the square term is scaled/);
  });
});

describe('where', () => {
  it('an error confined to the border band is reported there, per channel', () => {
    const band = (e.config.size - 1) / 2;
    const cand = e.gradX.slice();
    // perturb channel 1 of image 0, border band only
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) if (inBand(i, j, H, W, band)) cand[((0 * C + 1) * H + i) * W + j]! += 1e-5;
    const regions = regionErrors(cand, e.gradX, e.shape, band);
    expect(regions.interior.maxAbs).toBe(0);
    expect(regions.channels[1]!.border.maxAbs).toBeCloseTo(1e-5, 15);
    expect(regions.channels[0]!.border.maxAbs).toBe(0);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: cand }).report;
    const where = r.diagnosis.find((d) => d.kind === 'where')!.message;
    expect(where).toMatch(/confined to the border band \(5 px/);
    expect(where).toMatch(/only channel 1 \(of 3\)/);
  });

  it("the text report starts each of the checker's own entries with its kind, a known mistake's with its title", () => {
    const names = { candidate: 'c.npy', x: 'x.png', y: 'y.png' };
    const scaled = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: e.gradX.map((v) => 3 * v) });
    const text = formatCheckReport(scaled.report, names);
    for (const kind of ['unexplained', 'scale', 'where', 'terms']) expect(text).toContain(`\n  * ${kind}: `);
    const m = mistakesFor(cfg.x, cfg.y, cfg.options).find((k) => k.build(scaled.context) !== null)!;
    const named = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: m.build(scaled.context)! }).report;
    expect(named.diagnosis[0]!.kind).toBe(m.kind);
    expect(formatCheckReport(named, names)).toContain(`\n  * ${m.title}: the candidate equals this mistake`);
    const match = formatCheckReport(checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: e.gradX }).report, names);
    expect(match).toContain('\n  * rounding: within rounding: max abs error');
  });

  it("a region's relative L2 divides by the exact gradient's norm there, not the candidate's", () => {
    // candidate = 3 x exact: |candidate - exact| / |exact| = 2 in every region (over |candidate| it would be 2/3)
    const r = regionErrors(e.gradX.map((v) => 3 * v), e.gradX, e.shape, 5);
    for (const s of [r.interior, r.border, ...r.channels.flatMap((c) => [c.interior, c.border])]) expect(s.relL2).toBeCloseTo(2, 12);
    // a zero candidate is off by all of the exact gradient (over its own norm it would be 0/0)
    const zero = new Float64Array(e.gradX.length);
    expect(regionErrors(zero, e.gradX, e.shape, 5).interior.relL2).toBeCloseTo(1, 12);
  });

  it("counts every pixel once, interior plus band", () => {
    const r = regionErrors(e.gradX, e.gradX, e.shape, 5);
    expect(r.interior.count + r.border.count).toBe(N * C * H * W);
    expect(r.interior.count).toBe(N * C * (H - 10) * (W - 10));
  });
});

describe('heatmap', () => {
  it('tiles the channels side by side on one colour scale, with a colour bar', () => {
    const cand = e.gradX.slice();
    cand[((1 * C + 2) * H + 7) * W + 9]! += 1e-3; // image 1, channel 2, pixel (7, 9)
    const { png, info } = renderHeatmap(cand, e.gradX, e.shape, 5);
    const img = PNG.sync.read(png);
    expect([img.width, img.height]).toEqual([info.width, info.height]);
    expect(info.max).toBeCloseTo(1e-3, 12);
    // the hot pixel is drawn in the top colour, at tile (row 1, column 2)
    const s = info.scale;
    const px = 4 + 2 * (W * s + 4) + 9 * s;
    const py = 4 + 1 * (H * s + 4) + 7 * s;
    const o = 4 * (py * img.width + px);
    expect(Array.from(img.data.subarray(o, o + 3))).toEqual(inferno(1));
    // a pixel with no error is black
    const o0 = 4 * ((4 + 7 * s) * img.width + 4 + 9 * s);
    expect(Array.from(img.data.subarray(o0, o0 + 3))).toEqual(inferno(0));
  });
});

describe('degenerate candidates', () => {
  it('an all-zero candidate is a mismatch that says so', () => {
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: new Float64Array(e.gradX.length) }).report;
    expect(r.verdict).toBe('mismatch');
    expect(r.relError).toBe(1);
    expect(r.diagnosis.find((d) => d.kind === 'scale')!.message).toBe('the candidate is zero everywhere');
  });
});
