/**
 * Plain SSIM goes through the same path as every variant (issue 18): outside src/variants no code
 * asks whether a variant is plain SSIM; it reads the declaration's traits (`computedBy`, `outputs`)
 * through the registry, which fills the defaults and gives a user's variant the defaults always.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineVariant } from '../../src/variants/define.js';
import { BUILT_IN_VARIANTS, bySsimKernels, namedInOutputs, PLAIN, variantTraits } from '../../src/variants/registry.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** A test of a variant's identity against plain SSIM: `isPlain...`, `PLAIN`, `=== 'ssim'`. */
const PLAIN_TEST = /\bisPlain\w*|\bPLAIN\b|[!=]==\s*['"]ssim['"]|['"]ssim['"]\s*[!=]==/;

/** The lines of a source text that test a variant against plain SSIM. */
export function plainTests(text: string): string[] {
  return text.split('\n').filter((line) => PLAIN_TEST.test(line));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.(ts|mts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

describe('plain SSIM has no branch of its own outside src/variants', () => {
  it('no file under src/ (src/variants and src/generated aside) tests a variant against plain SSIM', () => {
    const hits: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file).split('\\').join('/');
      if (rel.startsWith('variants/') || rel.startsWith('generated/')) continue;
      for (const line of plainTests(readFileSync(file, 'utf8'))) hits.push(`src/${rel}: ${line.trim()}`);
    }
    expect(hits).toEqual([]);
  });

  it('the scan sees each form of the test', () => {
    for (const line of ["if (isPlainVariant(o)) {", "decl === PLAIN", "const p = isPlain(options);", "o.variant === 'ssim'", "'ssim' !== name"]) {
      expect(plainTests(line), line).toEqual([line]);
    }
    expect(plainTests("const plainOptions = 1; name: 'ssim', kernels === ssimKernels")).toEqual([]);
  });
});

describe("a variant's traits, from its declaration through the registry", () => {
  it('plain SSIM: computed by the SSIM kernels, outputs SSIM\'s own; by its name, its declaration or no variant', () => {
    for (const ref of [undefined, 'ssim', PLAIN]) {
      expect(variantTraits(ref)).toEqual({ computedBy: 'ssim-kernels', outputs: 'ssim' });
      expect(bySsimKernels(ref)).toBe(true);
      expect(namedInOutputs(ref)).toBe(false);
    }
  });

  it('every other built-in: the defaults (its graph computes it, the outputs name it)', () => {
    const others = BUILT_IN_VARIANTS.filter((d) => d !== PLAIN);
    expect(others.length).toBeGreaterThan(0);
    for (const d of others) {
      expect(variantTraits(d.name), d.name).toEqual({ computedBy: 'graph', outputs: 'named' });
      expect(variantTraits(d), d.name).toEqual({ computedBy: 'graph', outputs: 'named' });
    }
  });

  it("a user's variant always gets the defaults, even one that copies plain SSIM's declaration", () => {
    const copy = defineVariant({ ...PLAIN });
    expect(copy.computedBy).toBe('ssim-kernels');
    expect(variantTraits(copy)).toEqual({ computedBy: 'graph', outputs: 'named' });
    const mine = defineVariant({ name: 'mine', summary: 'SSIM again', loss: ({ x, y, g }) => g.ssim(x, y) });
    expect(variantTraits(mine)).toEqual({ computedBy: 'graph', outputs: 'named' });
  });

  it('a name that is no built-in\'s gets the defaults (the lookup after refuses it)', () => {
    expect(variantTraits('no-such-variant')).toEqual({ computedBy: 'graph', outputs: 'named' });
  });

  it('defineVariant refuses a computedBy or outputs it does not know, naming the field', () => {
    const base = { name: 'v', summary: 's', loss: ({ x, y, g }: Parameters<typeof PLAIN.loss>[0]) => g.ssim(x, y) };
    expect(() => defineVariant({ ...base, computedBy: 'gpu' } as never)).toThrow("variant 'v': computedBy must be 'graph' or 'ssim-kernels', got \"gpu\"");
    expect(() => defineVariant({ ...base, outputs: 'short' } as never)).toThrow("variant 'v': outputs must be 'named' or 'ssim', got \"short\"");
  });
});
