/**
 * The derivation documents' forward-mode and second-order section (src/derive/forward-doc.ts):
 * the equations it gives as the loss's tangent (the JVP) and as the images' adjoint tangents (the
 * rows of H v), read through their mathjs twins at their sample pixels, against what does not use
 * forward mode: central differences of evaluateVariant's value and gradient (the evaluator's
 * reverse mode, its windowed maps on their generated kernels) on the document's sample images, in
 * the document's sample direction. The section's other equations are checked twin by twin in
 * docs.test.ts and variant-doc.test.ts, like every equation.
 */
import fc from 'fast-check';
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { presetDerivations } from '../../src/derive/build.js';
import { deriveVariant } from '../../src/derive/files.js';
import { dotTex, renamingRule } from '../../src/derive/forward-doc.js';
import type { Block, DerivationDoc, Equation } from '../../src/derive/model.js';
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

/** The blocks of a section (from its heading to the next). */
function section(doc: DerivationDoc, id: string): Block[] {
  const start = doc.blocks.findIndex((b) => b.kind === 'h2' && b.id === id);
  const end = doc.blocks.findIndex((b, i) => i > start && b.kind === 'h2');
  return doc.blocks.slice(start + 1, end < 0 ? undefined : end);
}

describe('MS-SSIM: the windowed map cs at one scale in each section, the other scales said alike and checked', () => {
  const doc = deriveVariant(byName('ms-ssim'), { options: { preset: 'tf', dataRange: 1 } });
  const eqs = (id: string) => section(doc, id).filter((b): b is Equation => b.kind === 'eq');
  const sentences = (id: string) => section(doc, id).filter((b) => b.kind === 'p' && /holds? again, not printed/.test(b.text));

  it('forward mode: the moments\' tangents of one scale printed, each checked at all five', () => {
    const lhs = eqs('forward-mode').map((e) => e.latex.split(' = ')[0]);
    expect(lhs).toContain('\\dot{\\mu}_x^{(1)}');
    for (const k of [2, 3, 4, 5]) expect(lhs).not.toContain(`\\dot{\\mu}_x^{(${k})}`);
    // scales 2, 3, 4 (cs) and 5 (S's window moments)
    expect(sentences('forward-mode')).toHaveLength(4);
    // checked at the first pixel of each of the five fields mu_x^(k), against that field's tangent
    const mu = eqs('forward-mode').find((e) => e.latex === '\\dot{\\mu}_x^{(1)} = W \\, \\dot{x}')!;
    const first = mu.samples().filter((s) => s.at === 0);
    expect(first).toHaveLength(5);
    expect(new Set(first.map((s) => s.expected)).size).toBe(5);
    // the mean of cs^(1) stands for those of cs^(2..4) and of S
    const mean = eqs('forward-mode').find((e) => e.latex.startsWith('(\\dot{u}_{1})_p'))!;
    expect(mean.samples().filter((s) => s.at === 0)).toHaveLength(5);
  });

  it('second order: the adjoints of the moments of cs at one scale, in one equation in v, the others by rule', () => {
    const lhs = eqs('second-order').map((e) => e.latex.split(' = ')[0]);
    expect(lhs.filter((l) => /^\\dot\{g\}_\{v\}\^\{\(\d\)\}$/.test(l!))).toEqual(['\\dot{g}_{v}^{(5)}', '\\dot{g}_{v}^{(4)}']);
    expect(sentences('second-order')).toHaveLength(3);
    // the rows of H v are printed, whatever is alike
    expect(lhs).toContain('\\dot{\\bar x}');
    expect(lhs).toContain('\\dot{\\bar y}');
  });
});

describe('renamingRule', () => {
  /** The rule read as a reader reads it: a written-out pair, else the superscript shift, else the name unchanged. */
  function readBack(rule: string, a: string): string {
    const explicit = new Map<string, string>();
    const list = /^\$([^$]*)\$/.exec(rule)?.[1];
    if (list !== undefined && list.includes(' \\to ')) for (const p of list.split(',\\ ')) explicit.set(p.split(' \\to ')[0]!, p.split(' \\to ')[1]!);
    if (explicit.has(a)) return explicit.get(a)!;
    const shift = /made \$\(k ([+-]) (\d+)\)\$/.exec(rule);
    const sup = /^(.*)\^\{\((\d+)\)\}$/.exec(a);
    if (shift !== null && sup !== null) return `${sup[1]}^{(${Number(sup[2]) + (shift[1] === '+' ? 1 : -1) * Number(shift[2])})}`;
    return a;
  }

  it('a scale\'s shift said once, the rest written out', () => {
    const rule = renamingRule([['\\mu_x^{(1)}', '\\mu_x^{(2)}'], ['m_{xx}^{(1)}', 'm_{xx}^{(2)}'], ['x', 'x^{(1)}'], ['u_{1}', 'u_{3}']]);
    expect(rule).toBe('$x \\to x^{(1)},\\ u_{1} \\to u_{3}$, and every superscript $(k)$ made $(k + 1)$');
    expect(renamingRule([['\\mathrm{cs}^{(1)}', 'S'], ['\\mu_x^{(1)}', '\\mu_x^{(5)}']])).toBe('$\\mathrm{cs}^{(1)} \\to S$, and every other superscript $(k)$ made $(k + 4)$');
  });

  it('read back, gives every new name', () => {
    const name = fc.tuple(fc.constantFrom('x', 'y', '\\mu_x', 'm_{xx}', 'u_{1}', '\\mathrm{cs}'), fc.option(fc.integer({ min: 1, max: 6 }))).map(([s, k]) => (k === null ? s : `${s}^{(${k})}`));
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, name), { selector: (p) => p[0], minLength: 1, maxLength: 8 }), (pairs) => {
        const rule = renamingRule(pairs);
        for (const [a, b] of pairs) expect(readBack(rule, a), `${rule}: ${a}`).toBe(b);
      }),
    );
  });
});
