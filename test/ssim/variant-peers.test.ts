/** Variants against PyTorch autograd in float64 (scripts/make_fixtures.py, test/fixtures/variants). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../../src/io/index.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/variants.js';
import { onEngines } from '../support/engines.js';

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
  it('has the ms-ssim, dssim, 3dgs-loss and wang fixtures', () => {
    expect(new Set(cases.map((c) => c.options.variant))).toEqual(new Set(['ms-ssim', 'dssim', '3dgs-loss', 'wang']));
    // Wang's fixtures must tell the exponents apart (l^beta for l^alpha passed every test before them)
    for (const c of cases.filter((k) => k.options.variant === 'wang')) expect(new Set([c.options.alpha, c.options.beta, c.options.gamma]).size).toBe(3);
  });
  const runs = [
    ...cases.map((c) => [c.name, c, 'default'] as const),
    // Wang's fine graph (exact rational exponents, no kernels) as well as its generated kernels
    ...cases.filter((c) => c.options.variant === 'wang').map((c) => [`${c.name} (reference path)`, c, 'reference'] as const),
  ];
  it.each(runs)('%s: value to 1e-10, gradients (where the peer gives them) to 1e-9 relative', (_, c, engine) => {
    const r = engine === 'reference' ? onEngines(load(c.x), load(c.y), c.options)[1] : evaluateVariant(load(c.x), load(c.y), c.options);
    expect(Math.abs(r.value - c.value) / Math.abs(c.value)).toBeLessThanOrEqual(1e-10);
    for (const [ours, file] of [[r.gradX, c.gradX], [r.gradY, c.gradY]] as const) {
      if (file === null) continue;
      const theirs = load(file).data;
      const diff = maxAbs(ours.map((v, i) => v - theirs[i]!));
      expect(diff / maxAbs(theirs)).toBeLessThanOrEqual(1e-9);
    }
  });
});
