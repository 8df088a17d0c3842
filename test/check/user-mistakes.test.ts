/**
 * A user's variant gets the library of mistakes from its graph with no code of its own: a loss
 * declared here (a masked squared error beside 1 - SSIM of the luma, through a channel mix and a
 * field option) has SSIM's mistakes inside it and its own nodes' mistakes, and a wrong candidate
 * built here by hand, independently of the library (the per-pixel chain rule of the seed question
 * carried through the loss; the squared-error branch left out), is the library's mistake of that
 * name to rounding and far from every other.
 */
import { describe, expect, it } from 'vitest';
import { applicableMistakes, mistakesFor } from '../../src/mistakes/assemble.js';
import { type MistakeContext } from '../../src/mistakes/context.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import type { Tensor } from '../../src/field/index.js';
import { readTensor } from '../../src/io/index.js';
import { evaluateSsim, evaluateVariant, onImageGrid, type VariantOptions } from '../../src/runtime/index.js';
import { defineVariant } from '../../src/variants/define.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const LUMA = [0.299, 0.587, 0.114] as const;

const maskedLuma = defineVariant({
  name: 'masked-luma',
  summary: '0.5 mean(mask (x - y)^2) + 1 - SSIM(luma x, luma y)',
  options: { mask: { kind: 'field', help: 'weights of the squared error, 1 x 1 x H x W' } },
  loss: ({ x, y, fields, g }) => {
    const { e } = g;
    const err = g.mean(g.map(({ m, a, b }) => e.mul(m!, e.square(e.sub(a!, b!))), { m: fields.mask!, a: x, b: y }, { label: 'masked error' }));
    const s = g.ssim(g.channels(x, [[...LUMA]]), g.channels(y, [[...LUMA]]));
    return g.map(({ q, s: v }) => e.add(e.mul(0.5, q!), e.sub(1, v!)), { q: err, s }, { label: 'loss' });
  },
});

/** Rows 10-33, columns 20-49 of the example pair: 1 x 3 x 24 x 30. */
function cut(t: Tensor): Tensor {
  const [C, H, W] = t.shape as [number, number, number];
  const out: number[] = [];
  for (let c = 0; c < C; c++) for (let i = 10; i < 34; i++) for (let j = 20; j < 50; j++) out.push(Number(t.data[(c * H + i) * W + j]));
  return { shape: [1, 3, 24, 30], data: Float64Array.from(out) };
}
const X = cut(readTensor(EXAMPLE_X));
const Y = cut(readTensor(EXAMPLE_Y));
const [H, W] = [24, 30];
const HW = H * W;
const mask = { shape: [1, 1, H, W], data: Float64Array.from({ length: HW }, (_, p) => 0.5 + 0.5 * Math.sin(0.3 * p) ** 2) };
const options: VariantOptions = { variant: maskedLuma, variantOptions: { mask } };

const luma = (t: Tensor): Tensor => ({ shape: [1, 1, H, W], data: Float64Array.from({ length: HW }, (_, p) => LUMA.reduce((s, k, c) => s + k * Number(t.data[c * HW + p]), 0)) });
/** d loss/d luma(x) spread back over the channels (M^T), plus the squared error's d/dx. */
const back = (dLuma: Float64Array, withError: boolean): Float64Array =>
  Float64Array.from({ length: 3 * HW }, (_, i) => {
    const p = i % HW;
    const c = Math.floor(i / HW);
    const err = withError ? (0.5 * 2 * mask.data[p]! * (Number(X.data[i]) - Number(Y.data[i]))) / (3 * HW) : 0;
    return LUMA[c]! * dLuma[p]! + err;
  });

describe("a user's variant (declared in the test) gets the generic library of mistakes", () => {
  const exact = evaluateVariant(X, Y, options).gradX;
  const ctx: MistakeContext = { x: X, y: Y, options: {}, e: evaluateSsim(X, Y, {}), wrt: 'x', variantOptions: options };
  const library = mistakesFor(X, Y, options);
  const applicable = applicableMistakes(ctx, exact, library);
  const rel = (a: Float64Array, b: Float64Array): number => differenceNorms(a, b).l2 / norm2(b);
  const nearest = (candidate: Float64Array) => applicable.map((m) => ({ kind: m.mistake.kind, d: rel(candidate, m.gradient) })).sort((a, b) => a.d - b.d);

  it("holds SSIM's mistakes inside it and its own nodes' (the branches of its loss map, the mean's count, the channel mix)", () => {
    const kinds = applicable.map((m) => m.mistake.kind);
    for (const k of ['masked-luma/per-pixel-chain-rule', 'masked-luma/square-term-factor', 'masked-luma/normaliser-none', 'branch-dropped:loss.q', 'branch-dropped:loss.s', 'mean-count-dropped:masked-error', 'sign-flipped', 'other-image']) {
      expect(kinds).toContain(k);
    }
  });

  it('names the per-pixel chain rule, built by hand: W^T 1 times the partials at the pixel, through 1 - s and the luma mix', () => {
    const lx = luma(X);
    const ly = luma(Y);
    const e = evaluateSsim(lx, ly, {});
    const wt1 = e.window.transpose(new Float64Array(HW).fill(1));
    const [gm, gs, gc] = [e.partialsX.mu, e.partialsX.sq, e.partialsX.cross].map((g) => onImageGrid(e, g));
    const perPixel = wt1.map((w, p) => -w * (gm![p]! + 2 * lx.data[p]! * gs![p]! + ly.data[p]! * gc![p]!));
    const candidate = back(perPixel, true);
    const [first, second] = nearest(candidate);
    expect(first!.kind).toBe('masked-luma/per-pixel-chain-rule');
    expect(first!.d).toBeLessThan(1e-12);
    expect(second!.d).toBeGreaterThan(1e-3);
    expect(rel(candidate, exact)).toBeGreaterThan(1e-3);
  });

  it("names the squared error's branch left out, built by hand: only -M^T d ssim/d luma", () => {
    const e = evaluateSsim(luma(X), luma(Y), {});
    const candidate = back(e.gradX.map((v) => -v), false);
    const [first, second] = nearest(candidate);
    expect(first!.kind).toBe('branch-dropped:loss.q');
    expect(first!.d).toBeLessThan(1e-12);
    expect(second!.d).toBeGreaterThan(1e-3);
  });

  it('the terms of a mistake are reverse mode\'s contributions into the luma image through the windows and the product maps', () => {
    const m = library.find((k) => k.kind === 'masked-luma/per-pixel-chain-rule')!;
    const t = m.terms(ctx)!;
    expect(t.mean.length).toBe(HW);
    // on the luma grid; their sum spread back through M^T (plus the error term) is the mistake's gradient
    const sum = t.mean.map((v, p) => v + t.square[p]! + t.cross[p]!);
    expect(rel(back(sum, true), m.build(ctx)!)).toBeLessThan(1e-12);
  });
});

describe('a channel mix before SSIM (a user\'s variant): the mix used as its own transpose', () => {
  const MIX = [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]] as const;
  const mixed = defineVariant({
    name: 'mixed-ssim',
    summary: 'SSIM of the images after a 3 x 3 channel mix',
    loss: ({ x, y, g }) => g.ssim(g.channels(x, MIX), g.channels(y, MIX)),
  });
  const opts: VariantOptions = { variant: mixed };
  const mix = (t: Tensor): Tensor => ({
    shape: [1, 3, H, W],
    data: Float64Array.from({ length: 3 * HW }, (_, i) => MIX[Math.floor(i / HW)]!.reduce((s, k, c) => s + k * Number(t.data[c * HW + (i % HW)]), 0)),
  });

  it('is named, built by hand: M (not M^T) applied to d ssim/d(M x)', () => {
    const exact = evaluateVariant(X, Y, opts).gradX;
    const ctx: MistakeContext = { x: X, y: Y, options: {}, e: evaluateSsim(X, Y, {}), wrt: 'x', variantOptions: opts };
    const applicable = applicableMistakes(ctx, exact, mistakesFor(X, Y, opts));
    const g = evaluateSsim(mix(X), mix(Y), {}).gradX;
    const candidate = Float64Array.from({ length: 3 * HW }, (_, i) => MIX[Math.floor(i / HW)]!.reduce((s, k, c) => s + k * g[c * HW + (i % HW)]!, 0));
    const rel = (a: Float64Array, b: Float64Array): number => differenceNorms(a, b).l2 / norm2(b);
    const [first, second] = applicable.map((m) => ({ kind: m.mistake.kind, d: rel(candidate, m.gradient) })).sort((a, b) => a.d - b.d);
    expect(first!.kind).toBe('forward-as-transpose:channels');
    expect(first!.d).toBeLessThan(1e-12);
    expect(second!.d).toBeGreaterThan(1e-3);
  });
});
