/**
 * A fast-check arbitrary of random expression graphs over x, y, z built from every primitive,
 * with domains kept valid by construction: log, roots and negative powers only ever see
 * positive(a) = a^2 + c with c > 0, and division only by such a positive denominator.
 */
import fc from 'fast-check';
import { uniform } from '../support/uniform.js';
import * as E from '../../src/expr/index.js';
import type { Node } from '../../src/expr/index.js';
import { rational, type Rational } from '../../src/expr/rational.js';

/** Which primitives may appear (CAS referees cannot differentiate every one of them). */
export interface ExprProfile {
  /** max, relu, step and sign (non-smooth; mathjs.derivative and nerdamer lack them). */
  nonSmooth: boolean;
  /** abs (mathjs and nerdamer both know it). */
  abs: boolean;
  /** exponents with denominator 2, and sqrt. */
  halfPowers: boolean;
  /** float constants (nerdamer turns decimals into approximate fractions, so it gets rationals only). */
  floats: boolean;
}

export const FULL: ExprProfile = { nonSmooth: true, abs: true, halfPowers: true, floats: true };
export const MATHJS_SAFE: ExprProfile = { nonSmooth: false, abs: true, halfPowers: true, floats: true };
export const NERDAMER_SAFE: ExprProfile = { nonSmooth: false, abs: true, halfPowers: true, floats: false };

export const VARS = ['x', 'y', 'z'] as const;

const positive = (a: Node, c: Node): Node => E.add(E.mul(a, a), c);

export function exprArbitrary(profile: ExprProfile, maxDepth = 4): fc.Arbitrary<Node> {
  const leaves: Array<fc.Arbitrary<Node>> = [
    fc.constantFrom(...VARS).map((v) => E.variable(v)),
    fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 4 })).map(([p, q]) => E.rat(p, q)),
  ];
  if (profile.floats) leaves.push(uniform(-3, 3).map((v) => E.num(v)));
  const leaf = fc.oneof(...leaves);
  const shift = fc.constantFrom(E.rat(1, 4), E.ONE, E.rat(2));
  const q = (p: number, d: number): Rational => rational(BigInt(p), BigInt(d));
  const common = [q(1, 1), q(2, 1), q(3, 1), q(-1, 1), q(-2, 1), q(1, 3), q(-2, 3), q(1, 4), q(5, 4)];
  const exponents = profile.halfPowers ? [...common, q(1, 2), q(-1, 2), q(3, 2)] : common;
  const { expr } = fc.letrec<{ expr: Node }>((tie) => {
    const sub = (): fc.Arbitrary<Node> => tie('expr');
    const branches: Array<fc.Arbitrary<Node>> = [
      fc.tuple(sub(), sub()).map(([a, b]) => E.add(a, b)),
      fc.tuple(sub(), sub()).map(([a, b]) => E.sub(a, b)),
      fc.tuple(sub(), sub()).map(([a, b]) => E.mul(a, b)),
      fc.tuple(sub(), sub(), shift).map(([a, b, c]) => E.div(a, positive(b, c))),
      fc.tuple(sub(), fc.integer({ min: 2, max: 3 })).map(([a, n]) => E.pow(a, n)),
      fc.tuple(sub(), shift, fc.constantFrom(...exponents)).map(([a, c, e]) => E.pow(positive(a, c), e)),
      fc.tuple(sub(), fc.integer({ min: 1, max: 3 })).map(([a, k]) => E.exp(E.div(a, k))),
      fc.tuple(sub(), shift).map(([a, c]) => E.log(positive(a, c))),
    ];
    if (profile.halfPowers) branches.push(fc.tuple(sub(), shift).map(([a, c]) => E.sqrt(positive(a, c))));
    if (profile.abs) branches.push(sub().map((a) => E.abs(a)));
    if (profile.nonSmooth) {
      branches.push(
        fc.tuple(sub(), sub()).map(([a, b]) => E.max(a, b)),
        sub().map((a) => E.relu(a)),
        fc.tuple(sub(), sub()).map(([a, b]) => E.mul(E.step(a), b)),
        fc.tuple(sub(), sub()).map(([a, b]) => E.mul(E.sign(a), b)),
      );
    }
    return { expr: fc.oneof({ maxDepth, depthIdentifier: 'expr' }, leaf, ...branches) };
  });
  return expr;
}

/** A random point, away from 0 so that scales stay moderate. */
export const pointArbitrary = fc.record({
  x: uniform(-2, 2),
  y: uniform(-2, 2),
  z: uniform(-2, 2),
});

/**
 * Distance of the point from the nearest kink of abs/max/step/sign, measured on the arguments
 * (central differences are meaningless within a step of a kink).
 */
export function kinkDistance(f: Node, env: Record<string, number>): number {
  let d = Infinity;
  for (const n of E.topoSort([f])) {
    if (n.op === 'abs' || n.op === 'step' || n.op === 'sign') d = Math.min(d, Math.abs(E.evaluate(n.args[0]!, env)));
    if (n.op === 'max') d = Math.min(d, Math.abs(E.evaluate(E.sub(n.args[0]!, n.args[1]!), env)));
  }
  return d;
}
