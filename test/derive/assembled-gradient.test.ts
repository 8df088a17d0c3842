/**
 * The document's assembled gradient: for every example variant (examples/variants/*.ts), every
 * built-in variant and a few presets, the equations the document gives as dL/dx and dL/dy, read
 * through their mathjs twins at the document's sample pixels, against evaluateVariant's gradient on
 * the same images (the evaluator's fused reverse mode, computed here, not by the document; the SSIM
 * documents of each preset family get the same check in docs.test.ts). A factor the document drops
 * (a channel matrix's transpose, a pointwise curve's slope, a downsampling's transpose) fails here
 * even where every equation's twin agrees with its own expected value.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveVariant } from '../../src/derive/files.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/variants.js';
import { BUILT_IN_VARIANTS } from '../../src/variants/registry.js';
import type { VariantDeclaration } from '../../src/variants/types.js';
import { expectAssembledGradient } from '../support/assembled-gradient.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'variants');

/** Every module under examples/variants whose default export is a declaration (make-mask.ts is a script). */
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts')).sort();
const examples: VariantDeclaration[] = [];
for (const f of exampleFiles) {
  const m = (await import(join(EXAMPLES, f))) as { default?: unknown };
  const d = m.default as Partial<VariantDeclaration> | undefined;
  if (d !== undefined && typeof d === 'object' && typeof d.loss === 'function') examples.push(d as VariantDeclaration);
}

const byName = (name: string): VariantDeclaration => BUILT_IN_VARIANTS.find((d) => d.name === name)!;

type Case = readonly [string, VariantDeclaration, Readonly<Record<string, unknown>>];
const cases: Case[] = [
  ...examples.map((d): Case => [d.name, d, {}]),
  ...examples.filter((d) => d.name === 'gamma-ssim' || d.name === 'luma-ssim').map((d): Case => [`${d.name}, mirror padding`, d, { padding: 'mirror' }]),
  ...BUILT_IN_VARIANTS.map((d): Case => [d.name, d, {}]),
  ['ssim, skimage', byName('ssim'), { preset: 'skimage', dataRange: 1 }],
  ['ssim, tf', byName('ssim'), { preset: 'tf', dataRange: 1 }],
  ['ssim, matlab downsampled by 2', byName('ssim'), { preset: 'matlab', downsample: 2 }],
  ['dssim, matlab downsampled by 2', byName('dssim'), { preset: 'matlab', downsample: 2 }],
];

describe("the document's assembled gradient against evaluateVariant", () => {
  it('covers the examples, among them the channel matrix and the pointwise curve', () => {
    expect(examples.map((d) => d.name)).toEqual(expect.arrayContaining(['luma-ssim', 'gamma-ssim', 'masked-ssim']));
  });

  it.each(cases)('%s', (_, decl, options) => {
    const doc = deriveVariant(decl, { options });
    const sample = doc.sample!;
    const r = evaluateVariant(sample.x, sample.y, { ...sample.options, variant: decl } as VariantOptions);
    expectAssembledGradient(doc, (which) => (which === 'x' ? r.gradX : r.gradY));
  });
});
