/**
 * deriveVariant: a variant declared here, as a user would in a --variant-file, gets a derivation
 * document from its declaration and graph whose every equation's twin checks against the evaluator.
 */
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { deriveVariant } from '../../src/derive/files.js';
import { renderHtml, renderMarkdown } from '../../src/derive/render.js';
import type { DerivationDoc } from '../../src/derive/model.js';
import { defineVariant } from '../../src/variants/define.js';
import { BUILT_IN_VARIANTS } from '../../src/variants/registry.js';
import gammaSsim from '../../examples/variants/gamma-ssim.js';
import lumaSsim from '../../examples/variants/luma-ssim.js';

/** A mask-weighted squared error plus the mask-weighted mean of 1 - the SSIM map (no block: the windows are in the loss's own graph). */
const maskedMix = defineVariant({
  name: 'masked-mix',
  summary: 'k mean(m (x - y)^2) + mean(m (1 - SSIM map))',
  options: {
    mask: { kind: 'field', help: 'weights m, one per pixel' },
    k: { kind: 'number', default: 0.5, help: 'weight of the squared error' },
  },
  doc: [{ p: 'A variant of the test: a weighted error beside a weighted SSIM map.' }],
  loss: ({ x, y, fields, values, g }) => {
    const { e } = g;
    const k = values.k as number;
    const m = fields.mask!;
    const err = g.mean(g.map(({ a, b, w }) => e.mul(w!, e.square(e.sub(a!, b!))), { a: x, b: y, w: m }, { label: 'werr' }));
    const s = g.mean(g.map(({ s, w }) => e.mul(w!, e.sub(1, s!)), { s: g.ssimMap(x, y), w: m }, { label: 'wdis' }));
    return g.map(({ l, d }) => e.add(e.mul(k, l!), d!), { l: err, d: s }, { label: 'mix' });
  },
});

/** Plain DSSIM written by a user, on the SSIM block (generated kernels) under another preset. */
const userDssim = defineVariant({
  name: 'half-dissimilarity',
  summary: '(1 - SSIM) / 2',
  loss: ({ x, y, g }) => g.map(({ s }) => g.e.div(g.e.sub(1, s!), 2), { s: g.ssim(x, y) }),
});

function checkTwins(doc: DerivationDoc): number {
  let n = 0;
  for (const b of doc.blocks) {
    if (b.kind !== 'eq') continue;
    const twin = parse(b.twin).compile();
    const samples = b.samples();
    expect(samples.length, `eq. ${b.number}`).toBeGreaterThan(0);
    for (const { scope, expected } of samples) {
      const got = twin.evaluate({ ...scope }) as number;
      expect(Math.abs(got - expected), `eq. ${b.number}: ${b.latex.slice(0, 120)} (twin ${b.twin.slice(0, 120)})`).toBeLessThanOrEqual(1e-9 * (Math.abs(expected) + 1e-12));
    }
    n++;
  }
  return n;
}

describe('deriveVariant', () => {
  it("a user's variant gets a document whose every equation's twin checks, ending in the gradients", () => {
    // mirror padding: W^T is not W (with zero padding and a symmetric window it would be, and a swapped transpose would pass)
    const doc = deriveVariant(maskedMix, { options: { padding: 'mirror' } });
    expect(doc.name).toBe('masked-mix');
    expect(checkTwins(doc)).toBeGreaterThan(10);
    // the gradients: the equations reverse mode ends in (the forward-mode section follows them)
    const eqs = doc.blocks.filter((b) => b.kind === 'eq' && b.gradient !== undefined);
    const last = eqs.map((b) => (b.kind === 'eq' ? b.latex : ''));
    expect(last).toHaveLength(2);
    expect(last[0]).toMatch(/^\\frac\{\\partial \\mathcal\{L\}\}\{\\partial x\} = /);
    expect(last[1]).toMatch(/^\\frac\{\\partial \\mathcal\{L\}\}\{\\partial y\} = /);
    // the windows are transposed on the way back, and the declaration's prose leads the document
    expect(last[0]).toContain('W^\\top');
    expect(doc.blocks.some((b) => b.kind === 'p' && b.text.startsWith('A variant of the test'))).toBe(true);
    expect(renderMarkdown(doc, 'h')).toContain('# masked-mix');
    expect(renderHtml(doc, 'h', { standalone: true })).not.toContain('katex-error');
  });

  it('a variant on the SSIM block under another preset: the block derived from its fine graph, the gradient against the kernels', () => {
    const doc = deriveVariant(userDssim, { options: { preset: 'skimage', dataRange: 1 } });
    expect(checkTwins(doc)).toBeGreaterThan(20);
    const latex = doc.blocks.flatMap((b) => (b.kind === 'eq' ? [b.latex] : []));
    expect(latex).toContain('\\left(\\frac{\\partial \\langle S \\rangle}{\\partial x}\\right)^{\\!\\top} \\overline{\\langle S \\rangle} = W^\\top g_{\\mu_x} + 2 \\, x \\odot W^\\top g_{xx} + y \\odot W^\\top g_{xy}');
    expect(latex.some((l) => l.includes('R^\\top'))).toBe(true); // skimage crops: the crop's transpose
  });

  it('a windowed map without generated kernels: its block checked against the fine graph alone', () => {
    const csLoss = defineVariant({
      name: 'cs-only',
      summary: '1 - the mean contrast-structure term',
      loss: ({ x, y, g }) => g.map(({ c }) => g.e.sub(1, c!), { c: g.windowed(x, y, { graph: g.maps.cs(), kernels: null }, 'loss') }),
    });
    const doc = deriveVariant(csLoss, { options: { padding: 'reflect' } });
    expect(checkTwins(doc)).toBeGreaterThan(15);
  });

  it('refuses a declared equation (equations come from the graph, with twins)', () => {
    const bad = defineVariant({ ...userDssim, doc: [{ eq: 'D = 1', twin: '1' }] });
    expect(() => deriveVariant(bad)).toThrow(/declared equation/);
  });

  it.each([
    ['gamma-ssim (a pointwise curve before SSIM)', () => deriveVariant(gammaSsim), 'c_{x} = \\left(x + \\frac{1}{1000}\\right)^{9/20}'],
    ['luma-ssim (a channel matrix before SSIM)', () => deriveVariant(lumaSsim), 'u_{1} = M \\, x'],
    ['ms-ssim (pooling between the scales)', () => deriveVariant(BUILT_IN_VARIANTS.find((d) => d.name === 'ms-ssim')!), "x^{(1)} = P \\, x"],
  ])('%s: what the images go through is defined once, in the direction it is computed, and the windowed map is written on its own images', (_, derive, definition) => {
    const latex = derive().blocks.flatMap((b) => (b.kind === 'eq' ? [b.latex] : []));
    expect(latex.filter((l) => l.startsWith(definition))).toHaveLength(1);
    // the images x, y are inputs: no equation defines them (a block section once printed x = M u_1, or the curve inverted)
    expect(latex.filter((l) => /^[xy] = /.test(l))).toEqual([]);
  });
});
