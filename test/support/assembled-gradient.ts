/**
 * The check of a document's assembled gradient: the equations it marks as d L / d x and d L / d y
 * (exactly one each), read through their mathjs twins at their sample pixels, against a gradient
 * the caller computes with the evaluator on the document's sample images.
 */
import { parse } from 'mathjs';
import { expect } from 'vitest';
import type { DerivationDoc, Equation } from '../../src/derive/model.js';

/** Compares both gradient equations of `doc` with `gradient(which)` to 1e-12 of its largest value. */
export function expectAssembledGradient(doc: DerivationDoc, gradient: (which: 'x' | 'y') => Float64Array, lossTex = '\\mathcal{L}'): void {
  for (const which of ['x', 'y'] as const) {
    const eqs = doc.blocks.filter((b): b is Equation => b.kind === 'eq' && b.gradient === which);
    expect(eqs.map((e) => e.number), `${doc.name}: the equations marked as d L / d ${which}`).toHaveLength(1);
    const eq = eqs[0]!;
    expect(eq.latex.startsWith(`\\frac{\\partial ${lossTex}}{\\partial ${which}} = `), eq.latex).toBe(true);
    const want = gradient(which);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(0);
    const twin = parse(eq.twin).compile();
    const samples = eq.samples();
    expect(samples.length).toBeGreaterThanOrEqual(3);
    for (const s of samples) {
      expect(s.at, 'a sample of the gradient names its pixel').toBeTypeOf('number');
      const got = twin.evaluate({ ...s.scope }) as number;
      expect(Math.abs(got - want[s.at!]!), `${doc.name}: eq. ${eq.number} (${eq.latex.slice(0, 100)}) at flat index ${s.at} of d L / d ${which}: ${got} against ${want[s.at!]}`).toBeLessThanOrEqual(1e-12 * scale);
    }
  }
}
