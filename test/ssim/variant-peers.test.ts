/** Variants against PyTorch autograd in float64 (scripts/make_fixtures.py, test/fixtures/variants). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../../src/io/index.js';
import { evaluateVariant, type VariantOptions } from '../../src/ssim/variants.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'variants');
interface Case {
  name: string;
  options: VariantOptions;
  x: string;
  y: string;
  value: number;
  gradX: string | null;
  gradY: string | null;
}
const cases = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Case[];
const load = (f: string) => readTensor(join(DIR, f));
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('variants reproduce PyTorch autograd (float64)', () => {
  it('has the ms-ssim, dssim and 3dgs-loss fixtures', () => {
    expect(new Set(cases.map((c) => c.options.variant))).toEqual(new Set(['ms-ssim', 'dssim', '3dgs-loss']));
  });
  it.each(cases.map((c) => [c.name, c] as const))('%s: value to 1e-10, gradients (where the peer gives them) to 1e-9 relative', (_, c) => {
    const r = evaluateVariant(load(c.x), load(c.y), c.options);
    expect(Math.abs(r.value - c.value) / Math.abs(c.value)).toBeLessThanOrEqual(1e-10);
    for (const [ours, file] of [[r.gradX, c.gradX], [r.gradY, c.gradY]] as const) {
      if (file === null) continue;
      const theirs = load(file).data;
      const diff = maxAbs(ours.map((v, i) => v - theirs[i]!));
      expect(diff / maxAbs(theirs)).toBeLessThanOrEqual(1e-9);
    }
  });
});
