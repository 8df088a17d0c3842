/**
 * Symbolic forward mode (src/expr jvp) on random expression graphs: the tangent along a random
 * direction equals the directional central difference in float64 and the gradient's inner product
 * with the direction (reverse mode), and several outputs' tangents from one sweep equal each alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, evaluate, grad, jvp, variable, type Node } from '../../src/expr/index.js';
import { exprArbitrary, kinkDistance, MATHJS_SAFE, pointArbitrary, VARS } from './arbitrary.js';

const wrt = VARS.map((v) => variable(v));
const dirs = VARS.map((v) => variable(`d${v}`));
const BOUND = 1e6;

describe('jvp (symbolic forward mode)', () => {
  it('equals <grad, d> and the directional central difference', () => {
    fc.assert(
      fc.property(exprArbitrary(MATHJS_SAFE), exprArbitrary(MATHJS_SAFE), pointArbitrary, fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), (f, g, env, d) => {
        const at = { ...env, ...Object.fromEntries(VARS.map((v, k) => [`d${v}`, d[k]!])) };
        const [tf, tg] = jvp([f, g], wrt, dirs) as [Node, Node];
        const vf = evaluate(tf, at);
        const viaGrad = grad(f, wrt).reduce((s, p, k) => s + evaluate(p, env) * d[k]!, 0);
        fc.pre(Number.isFinite(vf) && Number.isFinite(viaGrad) && Math.abs(vf) < BOUND && Math.abs(evaluate(f, env)) < BOUND);
        expect(Math.abs(vf - viaGrad)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(viaGrad)));
        // one sweep for both outputs gives each output's own tangent
        const alone = evaluate(jvp([g], wrt, dirs)[0]!, at);
        const both = evaluate(tg, at);
        if (Number.isFinite(alone)) expect(both).toBe(alone);
        const h = 1e-4;
        const along = (s: number): number => evaluate(f, Object.fromEntries(VARS.map((v, k) => [v, env[v]! + s * h * d[k]!])));
        const cd = (8 * (along(1) - along(-1)) - (along(2) - along(-2))) / (12 * h);
        // the central difference steps up to 2e-4 along d: keep off abs's kinks by more
        fc.pre(Number.isFinite(cd) && kinkDistance(f, env) > 1e-2);
        expect(Math.abs(vf - cd)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(vf) + Math.abs(evaluate(f, env))));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a non-variable in wrt and a tangent list of the wrong length', () => {
    const x = wrt[0]!;
    expect(() => jvp([x], [x, wrt[1]!], [dirs[0]!])).toThrow(/one tangent per variable/);
    expect(() => jvp([x], [add(x, 1)], [dirs[0]!])).toThrow(/wrt must be variables/);
  });
});
