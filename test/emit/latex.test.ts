/**
 * The LaTeX printer means what the graph means: each printed formula is parsed back by KaTeX (the
 * parser that renders the documents) and evaluated by test/support/katex-eval.ts, which shares no
 * code with the printer, then compared with the graph's own value. Rendering tests only prove that
 * KaTeX accepts the LaTeX; a swapped \frac or a lost parenthesis renders fine and is caught here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAMED_TEX, statistics, VAR_TEX } from '../../src/derive/build.js';
import { toLatex, type LatexNames } from '../../src/expr/latex.js';
import * as E from '../../src/expr/index.js';
import type { Node } from '../../src/expr/index.js';
import { wangMapParametric } from '../../src/variants/wang.js';
import { resolveOptions } from '../../src/model/options.js';
import { pointwiseSsim } from '../../src/model/pointwise.js';
import { evaluateTex, type TexEnv } from '../support/katex-eval.js';
import { uniform } from '../support/uniform.js';
import { exprArbitrary, FULL, kinkDistance, pointArbitrary } from '../expr/arbitrary.js';

/** The largest intermediate magnitude: float64 rounding in either evaluation order is relative to it. */
function largestIntermediate(f: Node, env: Record<string, number>): number {
  return E.topoSort([f]).reduce((m, n) => Math.max(m, Math.abs(E.evaluate(n, env))), 0);
}

/** The parse tree spells `m_{xx}` as m_xx and `\sigma_{xy}` as \sigma_xy. */
const texKey = (tex: string): string => tex.replace(/[{}]/g, '');

describe('toLatex, read back by KaTeX', () => {
  it('evaluates to the graph\'s value on random graphs of every primitive', () => {
    let checked = 0;
    fc.assert(
      fc.property(exprArbitrary(FULL), pointArbitrary, (f, env) => {
        const ours = E.evaluate(f, env);
        const M = largestIntermediate(f, env);
        // overflowing graphs and points on a kink of abs/max/step/sign (where the two orders may fall either side) say nothing
        fc.pre(Number.isFinite(ours) && M < 1e8 && kinkDistance(f, env) > 1e-9 * (1 + M));
        const tex = toLatex(f);
        let theirs: number;
        try {
          theirs = evaluateTex(tex, env);
        } catch (e) {
          throw new Error(`${tex}: ${String(e)}`);
        }
        if (!(Math.abs(theirs - ours) <= 1e-9 * (1 + M))) throw new Error(`${tex} at ${JSON.stringify(env)}: LaTeX reads ${theirs}, graph ${ours}`);
        checked++;
      }),
      { numRuns: 400 },
    );
    expect(checked).toBeGreaterThan(200);
  });

  it('prints SSIM\'s partials with the derivation\'s names (A_1, \\sigma_x^2, m_{xx}, ...) as what they are', () => {
    const p = pointwiseSsim();
    const names: LatexNames = { nodes: new Map(p.named.map(([n, node]) => [node.id, NAMED_TEX[n]!])), vars: VAR_TEX };
    const config = resolveOptions({});
    let seed = 7;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let k = 0; k < 20; k++) {
      const env = statistics(rand, config);
      const tex: TexEnv = {
        ...Object.fromEntries(Object.entries(VAR_TEX).map(([v, t]) => [texKey(t), env[v]!])),
        ...Object.fromEntries(p.named.map(([n, node]) => [texKey(NAMED_TEX[n]!), E.evaluate(node, env)])),
      };
      for (const node of [p.S, p.partialsX.mu, p.partialsX.sq, p.partialsX.cross, p.partialsY.mu, p.partialsY.sq]) {
        const ours = E.evaluate(node, env);
        expect(evaluateTex(toLatex(node, names), tex)).toBeCloseTo(ours, 9 - Math.max(0, Math.ceil(Math.log10(Math.abs(ours) + 1e-300))));
      }
    }
  });

  it('prints Wang\'s l^alpha c^beta s^gamma with expression exponents (powv) as what it is', () => {
    const m = wangMapParametric();
    const names: LatexNames = { vars: { ...VAR_TEX, alpha: '\\alpha', beta: '\\beta', gamma: '\\gamma' } };
    const config = resolveOptions({});
    let compared = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), uniform(0.25, 3), uniform(0.25, 3), uniform(0.25, 3), (s, alpha, beta, gamma) => {
        let seed = s;
        const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
        const env = { ...statistics(rand, config), alpha, beta, gamma };
        const tex: TexEnv = {
          ...Object.fromEntries(Object.entries(VAR_TEX).map(([v, t]) => [texKey(t), env[v as keyof typeof env]])),
          '\\alpha': alpha, '\\beta': beta, '\\gamma': gamma,
        };
        for (const node of [m.F, m.dX.mu, m.dX.sq, m.dX.cross]) {
          const ours = E.evaluate(node, env);
          if (Number.isNaN(ours)) continue; // s < 0 to a fractional power: NaN in both, nothing to compare
          const M = largestIntermediate(node, env);
          const theirs = evaluateTex(toLatex(node, names), tex);
          compared++;
          if (!(Math.abs(theirs - ours) <= 1e-9 * (1 + M))) throw new Error(`Wang at ${JSON.stringify(env)}: LaTeX reads ${theirs}, graph ${ours}`);
        }
      }),
      { numRuns: 30 },
    );
    expect(compared).toBeGreaterThan(30); // F's NaN cases (s < 0) leave the partials' wide majority
  });

  it('the reader is no rubber stamp: it tells a swapped fraction, a power and a sign apart', () => {
    const env = { x: 3, y: 0.5 };
    expect(evaluateTex('\\frac{x}{y + 1}', env)).toBeCloseTo(2, 15);
    expect(evaluateTex('\\frac{y + 1}{x}', env)).toBeCloseTo(0.5, 15);
    expect(evaluateTex('\\left(x + y\\right)^{3/2} - 2 \\cdot 1.5 \\times 10^{-3}', env)).toBeCloseTo(3.5 ** 1.5 - 0.003, 12);
    expect(evaluateTex('-x^{2} + \\sqrt{4} \\, \\log\\left(e^{y}\\right)', env)).toBeCloseTo(-9 + 1, 12);
    expect(evaluateTex('\\max\\left(x, y\\right) \\, \\left\\lvert -y \\right\\rvert + H\\left(-x\\right) + \\operatorname{sgn}\\left(-y\\right)', env)).toBeCloseTo(1.5 - 1, 15);
    expect(() => evaluateTex('\\sum_{a=1}^{3} a', env)).toThrow(/katex-eval/);
    expect(() => evaluateTex('w', env)).toThrow(/'w' is not in the environment/);
  });
});
