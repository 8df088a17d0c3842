/**
 * The derivation documents' forward-mode and second-order section (src/derive/forward-doc.ts):
 * the equations it gives as the loss's tangent (the JVP) and as the images' adjoint tangents (the
 * rows of H v), read through their mathjs twins at their sample pixels, against what does not use
 * forward mode: central differences of evaluateVariant's value and gradient (the evaluator's
 * reverse mode, its windowed maps on their generated kernels) on the document's sample images, in
 * the document's sample direction. The section's other equations are checked twin by twin in
 * docs.test.ts and variant-doc.test.ts, like every equation.
 */
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { presetDerivations } from '../../src/derive/build.js';
import { deriveVariant } from '../../src/derive/files.js';
import { dotTex } from '../../src/derive/forward-doc.js';
import type { DerivationDoc, Equation } from '../../src/derive/model.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/variants.js';
import { BUILT_IN_VARIANTS } from '../../src/variants/registry.js';
import type { VariantDeclaration } from '../../src/variants/types.js';
import gammaSsim from '../../examples/variants/gamma-ssim.js';
import lumaSsim from '../../examples/variants/luma-ssim.js';
import maskedSsim from '../../examples/variants/masked-ssim.js';

const byName = (name: string): VariantDeclaration => BUILT_IN_VARIANTS.find((d) => d.name === name)!;
const presets = presetDerivations();

type Case = readonly [string, () => DerivationDoc, VariantDeclaration | undefined];
const cases: Case[] = [
  ...['ssim-pytorch-ssim', 'ssim-skimage', 'ssim-tf'].map((n): Case => [n, () => presets.find((d) => d.name === n)!, undefined]),
  ['ms-ssim (tf)', () => deriveVariant(byName('ms-ssim'), { options: { preset: 'tf', dataRange: 1 } }), byName('ms-ssim')],
  ['3dgs-loss', () => deriveVariant(byName('3dgs-loss')), byName('3dgs-loss')],
  ['wang', () => deriveVariant(byName('wang')), byName('wang')],
  ['dssim, mirror padding', () => deriveVariant(byName('dssim'), { options: { padding: 'mirror' } }), byName('dssim')],
  ['luma-ssim (a channel matrix)', () => deriveVariant(lumaSsim), lumaSsim],
  ['gamma-ssim (a pointwise curve)', () => deriveVariant(gammaSsim), gammaSsim],
  ['masked-ssim (a field option)', () => deriveVariant(maskedSsim), maskedSsim],
];

/** The one equation of the document with this mark. */
function marked(doc: DerivationDoc, tangent: Equation['tangent']): Equation {
  const eqs = doc.blocks.filter((b): b is Equation => b.kind === 'eq' && b.tangent === tangent);
  expect(eqs, `${doc.name}: the equations marked ${tangent}`).toHaveLength(1);
  return eqs[0]!;
}

describe("the forward-mode section's results against central differences of the evaluator", () => {
  it.each(cases)('%s', (_, build, decl) => {
    const doc = build();
    const { x, y, options, direction } = doc.sample!;
    expect(direction).toBeDefined();
    const d = direction!;
    const opts = (decl === undefined ? { ...options } : { ...options, variant: decl }) as VariantOptions;
    // five-point central differences in the direction (truncation O(h^4))
    // small: a step of 1e-3 crosses the kink of the 3DGS loss's |x - y| at some pixels, and takes gamma's x + e below 0
    const h = 1e-5 * Math.max(...Array.from(x.data, Math.abs));
    const at = (s: number) => evaluateVariant(
      { shape: x.shape, data: Float64Array.from(x.data, (v, i) => v + s * h * d.x[i]!) },
      { shape: y.shape, data: Float64Array.from(y.data, (v, i) => v + s * h * d.y[i]!) },
      opts,
    );
    const runs = [at(-2), at(-1), at(1), at(2)];
    const five = (f: (r: ReturnType<typeof at>) => number): number => (f(runs[0]!) - 8 * f(runs[1]!) + 8 * f(runs[2]!) - f(runs[3]!)) / (12 * h);

    const jvp = marked(doc, 'loss');
    expect(jvp.latex.startsWith(`\\dot{${decl === undefined ? 'L' : '\\mathcal{L}'}} = `), jvp.latex).toBe(true);
    const want = five((r) => r.value);
    for (const s of jvp.samples()) {
      const got = parse(jvp.twin).evaluate({ ...s.scope }) as number;
      expect(Math.abs(got - want), `${doc.name}: eq. ${jvp.number} ${got} against ${want}`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-12);
    }

    for (const which of ['x', 'y'] as const) {
      const eq = marked(doc, which);
      expect(eq.latex.startsWith(`\\dot{\\bar ${which}} = `), eq.latex).toBe(true);
      const twin = parse(eq.twin).compile();
      const samples = eq.samples();
      expect(samples.length).toBeGreaterThanOrEqual(3);
      const fd = (q: number) => five((r) => (which === 'x' ? r.gradX : r.gradY)[q]!);
      // the scale of H v: its central difference at every sample pixel and a few more
      const scale = Math.max(...[...samples.map((s) => s.at!), 0, 7, 31].map((q) => Math.abs(fd(q))));
      expect(scale).toBeGreaterThan(0);
      for (const s of samples) {
        const got = twin.evaluate({ ...s.scope }) as number;
        const expected = fd(s.at!);
        expect(Math.abs(got - expected), `${doc.name}: eq. ${eq.number} at flat index ${s.at} of H v (${which} rows): ${got} against ${expected}`).toBeLessThanOrEqual(1e-6 * scale);
      }
    }
  });
});

describe('dotTex', () => {
  it.each([
    ['x', '\\dot{x}'],
    ['\\mu_x', '\\dot{\\mu}_x'],
    ['m_{xx}^{(2)}', '\\dot{m}_{xx}^{(2)}'],
    ['g_{\\mu_x}', '\\dot{g}_{\\mu_x}'],
    ['S_\\Omega', '\\dot{S}_\\Omega'],
    ['\\mathrm{cs}^{(1)}', '\\dot{\\mathrm{cs}}^{(1)}'],
    ['\\overline{u_{1}}', '\\dot{\\overline{u_{1}}}'],
  ])('%s -> %s', (name, tex) => {
    expect(dotTex(name)).toBe(tex);
  });
});
