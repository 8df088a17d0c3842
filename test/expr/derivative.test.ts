/**
 * Our symbolic derivative against three referees on random expression graphs: central
 * differences in float64, mathjs.derivative and nerdamer's diff, compared numerically.
 */
import fc from 'fast-check';
import { derivative, parse } from 'mathjs';
import nerdamer from 'nerdamer';
import 'nerdamer/Calculus.js';
import { describe, expect, it } from 'vitest';
import { evaluate, grad, toInfix, variable, type Node } from '../../src/expr/index.js';
import { fromMathjs, mathjsScope } from '../../src/expr/mathjs.js';
import { exprArbitrary, FULL, kinkDistance, MATHJS_SAFE, NERDAMER_SAFE, pointArbitrary, VARS } from './arbitrary.js';

const RUNS = 1000;
const wrt = VARS.map((v) => variable(v));

/** Values and derivatives above this are skipped: the comparison is about formulas, not overflow. */
const BOUND = 1e6;

function usable(f: Node, ds: Node[], env: Record<string, number>): boolean {
  const vals = [evaluate(f, env), ...ds.map((d) => evaluate(d, env))];
  return vals.every((v) => Number.isFinite(v) && Math.abs(v) < BOUND);
}

/**
 * Five-point central difference, h = 1e-3 * max(1, |v|). Truncation error is h^4 f^(5)/30
 * (about 3e-14 times the fifth derivative) and rounding about 1.5 eps |f| / h (3e-13 |f|),
 * so 1e-6 relative to (1 + |f| + |f'|) leaves room for fifth derivatives up to ~3e7.
 */
function centralDifference(f: Node, env: Record<string, number>, name: string): number {
  const v = env[name]!;
  const h = 1e-3 * Math.max(1, Math.abs(v));
  const at = (t: number): number => evaluate(f, { ...env, [name]: v + t * h });
  return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h);
}

/**
 * Runs a CAS referee over RUNS random expressions. Both sides are exact formulas in float64, so
 * agreement means equal to 1e-9 relative (rounding, amplified by cancellation in a few dozen
 * operations on values under 1e6). A CAS's "not equal" is not trusted (DESIGN.md): each
 * disagreement, or a referee that throws, is adjudicated by central differences, which must side
 * with us and refute the referee. Known referee bugs found this way: mathjs 15 differentiates
 * c / ((|k x| + 37/4)^2 + 1/4) to 0 when k is a large integer ratio; nerdamer 1.1.13 writes
 * d(sqrt(x) e^x) with sqrt((1/2) x^(-1/2)) in place of sqrt(x), d|(-x-1)^3|/dx at 0 as -3
 * (truth 3) and d[4((1-x)^2 + 1/4)]/dx as 8(1-x).
 */
function refereeRun(
  arb: fc.Arbitrary<Node>,
  theirsOf: (text: string, name: string, env: Record<string, number>) => number,
): { agreed: number; adjudicated: number } {
  let agreed = 0;
  let adjudicated = 0;
  fc.assert(
    fc.property(arb, pointArbitrary, (f, env) => {
      const ds = grad(f, wrt);
      fc.pre(usable(f, ds, env) && kinkDistance(f, env) > 0.05);
      const text = toInfix(f);
      const fv = Math.abs(evaluate(f, env));
      let all = true;
      VARS.forEach((name, k) => {
        const ours = evaluate(ds[k]!, env);
        let theirs = NaN;
        try {
          theirs = theirsOf(text, name, env);
        } catch {
          /* adjudicated below like any disagreement */
        }
        if (close(ours, theirs, 0, 1e-9)) return;
        all = false;
        const cd = centralDifference(f, env, name);
        // refuted: the referee is far from the difference, both against our own distance from it and
        // against the difference's accuracy (1e-10 of the scale, far above its ~1e-13 rounding)
        const refuted = Math.abs(theirs - cd) > Math.max(100 * Math.abs(ours - cd), 1e-10 * (1 + Math.abs(cd) + fv)) || Number.isNaN(theirs);
        if (!close(ours, cd, fv, 1e-6) || !refuted) {
          throw new Error(`d/d${name} of ${text}: ours ${ours}, referee ${theirs}, central difference ${cd}`);
        }
      });
      if (all) agreed++;
      else adjudicated++;
    }),
    { numRuns: RUNS },
  );
  expect(agreed + adjudicated).toBe(RUNS);
  return { agreed, adjudicated };
}

const close = (a: number, b: number, scale: number, tol: number): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b) + scale);

describe('symbolic reverse mode', () => {
  it('agrees with central differences in float64 on random graphs of every primitive', () => {
    fc.assert(
      fc.property(exprArbitrary(FULL), pointArbitrary, (f, env) => {
        const ds = grad(f, wrt);
        // the stencil spans 2h; a kink of abs/max/step/sign inside it makes the difference meaningless
        fc.pre(usable(f, ds, env) && kinkDistance(f, env) > 0.05);
        const fv = Math.abs(evaluate(f, env));
        VARS.forEach((name, k) => {
          const d = evaluate(ds[k]!, env);
          const cd = centralDifference(f, env, name);
          if (!close(d, cd, fv, 1e-6)) throw new Error(`d/d${name} of ${toInfix(f)} at ${JSON.stringify(env)}: ours ${d}, central ${cd}`);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with mathjs.derivative at random points (disagreements adjudicated by central differences)', () => {
    const { agreed, adjudicated } = refereeRun(exprArbitrary(MATHJS_SAFE), (text, name, env) =>
      derivative(parse(text), name).evaluate({ ...mathjsScope, ...env }) as number,
    );
    console.log(`mathjs agreed on ${agreed} expressions; ${adjudicated} disagreements, each refuted by central differences`);
    expect(agreed / (agreed + adjudicated)).toBeGreaterThan(0.95);
  });

  it("agrees with nerdamer's diff at random points (disagreements adjudicated by central differences)", () => {
    const { agreed, adjudicated } = refereeRun(exprArbitrary(NERDAMER_SAFE, 3), (text, name, env) =>
      nerdamer.diff(text, name).buildFunction([...VARS])(env.x!, env.y!, env.z!) as number,
    );
    console.log(`nerdamer agreed on ${agreed} expressions; ${adjudicated} disagreements, each refuted by central differences`);
    expect(agreed / (agreed + adjudicated)).toBeGreaterThan(0.9);
  });

  it('catches a wrong derivative: central differences and mathjs both reject a forgotten product rule', () => {
    const x = variable('x');
    const f = fromMathjs('x^3 * exp(x)');
    const ours = grad(f, [x])[0]!;
    const wrong = fromMathjs('3 * x^2 * exp(x)'); // the product rule forgotten
    const env = { x: 0.7 };
    const cd = centralDifference(f, env, 'x');
    expect(close(evaluate(ours, env), cd, 1, 1e-9)).toBe(true);
    expect(close(evaluate(wrong, env), cd, 1, 1e-3)).toBe(false);
    const theirs = derivative(parse('x^3 * exp(x)'), 'x').evaluate(env) as number;
    expect(close(evaluate(wrong, env), theirs, 0, 1e-3)).toBe(false);
    expect(close(evaluate(ours, env), theirs, 0, 1e-12)).toBe(true);
  });

});
