/**
 * Every known mistake, built from the exact gradient's graph, is named by the checker when it is
 * the candidate (in float64 and rounded to float32), and no other mistake is ranked above it.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { applicableMistakes, KNOWN_MISTAKES, type MistakeContext } from '../../src/check/mistakes.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import { evaluateSsim } from '../../src/ssim/index.js';
import { CHECK_CONFIGS } from './configs.js';

describe.each(CHECK_CONFIGS)('known mistakes: $name', (cfg) => {
  const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
  const exact = cfg.wrt === 'x' ? e.gradX : e.gradY;
  const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: cfg.wrt };
  const mistakes = applicableMistakes(ctx, exact);

  it("each mistake's three terms (reverse mode's contributions through the windows and the product maps) add up to its gradient", () => {
    for (const m of KNOWN_MISTAKES) {
      const t = m.terms(ctx);
      const g = m.build(ctx);
      expect(t === null, m.kind).toBe(g === null);
      if (t === null || g === null) continue;
      const sum = e.downsample.transpose(t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!));
      expect(differenceNorms(sum, g).l2 / norm2(g), m.kind).toBeLessThan(1e-13);
    }
  });

  it.each(mistakes.map((m) => [m.mistake.kind, m] as const))('%s is named first, in float64 and in float32', (_, { mistake, gradient }) => {
    for (const candidate of [gradient, Float32Array.from(gradient)]) {
      const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, candidate }).report;
      expect(r.verdict).toBe('mismatch');
      expect(r.mistakes[0]!.kind).toBe(mistake.kind);
      expect(r.mistakes[0]!.matched).toBe('as-is');
      expect(r.diagnosis[0]!.kind).toBe(mistake.kind);
      // the next one is far: the name is not a coin toss
      expect(r.mistakes[1]!.distance).toBeGreaterThan(100 * r.mistakeTolerance.value);
    }
  });
});

describe('the library of mistakes', () => {
  it('covers every listed kind in at least one configuration', () => {
    const seen = new Set<string>();
    for (const cfg of CHECK_CONFIGS) {
      const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
      const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: cfg.wrt };
      for (const m of applicableMistakes(ctx, cfg.wrt === 'x' ? e.gradX : e.gradY)) seen.add(m.mistake.kind);
    }
    const missing = KNOWN_MISTAKES.map((m) => m.kind).filter((k) => !seen.has(k));
    expect(missing).toEqual([]);
  });

  it('a mistake on top of a wrong normaliser is named with its scale (the seed read literally: divided by H x W)', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: 'x' };
    const perPixel = KNOWN_MISTAKES.find((m) => m.kind === 'per-pixel-chain-rule')!.build(ctx)!;
    const [N, C] = e.shape;
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: perPixel.map((v) => v * N * C) }).report;
    expect(r.diagnosis[0]!.kind).toBe('per-pixel-chain-rule');
    expect(r.mistakes[0]!.matched).toBe('scaled');
    expect(r.mistakes[0]!.scaled!.k).toBeCloseTo(N * C, 9);
  });

  it('a pure scale is diagnosed as one, with the factor', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: e.gradX.map((v) => 1.7 * v) }).report;
    expect(r.verdict).toBe('mismatch');
    expect(r.scale.k).toBeCloseTo(1.7, 12);
    expect(r.diagnosis.find((d) => d.kind === 'unexplained')).toBeDefined();
    expect(r.diagnosis.find((d) => d.kind === 'scale')!.message).toMatch(/is 1\.70000 x the exact gradient/);
  });
});
