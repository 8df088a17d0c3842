/** Interning, smart constructors, printing and the mathjs bridge. */
import fc from 'fast-check';
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import * as E from '../../src/expr/index.js';
import * as M from '../../src/expr/mathjs.js';
import { exprArbitrary, FULL, kinkDistance, pointArbitrary } from './arbitrary.js';

const x = E.variable('x');
const y = E.variable('y');

describe('interning', () => {
  it('returns the same node for the same expression, built twice', () => {
    const a = E.div(E.add(E.mul(x, y), E.sqrt(x)), E.exp(y));
    const b = E.div(E.add(E.sqrt(x), E.mul(y, x)), E.exp(y));
    expect(a).toBe(b);
    expect(E.variable('x')).toBe(x);
    expect(E.num(0.01)).toBe(E.rat(1, 100));
  });

  it('puts commutative arguments in one canonical order', () => {
    expect(E.add(x, y, 3)).toBe(E.add(3, y, x));
    expect(E.mul(y, x, 2)).toBe(E.mul(x, 2, y));
    expect(E.max(x, y)).toBe(E.max(y, x));
  });

  it('gives different nodes for different expressions', () => {
    expect(E.sub(x, y)).not.toBe(E.sub(y, x));
    expect(E.pow(x, 2)).not.toBe(E.pow(x, 3));
    expect(E.num(0.1)).not.toBe(E.num(0.2));
  });
});

describe('smart constructors', () => {
  it('fold constants and identities exactly', () => {
    expect(E.add(x, 0)).toBe(x);
    expect(E.mul(x, 1)).toBe(x);
    expect(E.pow(x, 1)).toBe(x);
    expect(E.pow(x, 0)).toBe(E.ONE);
    expect(E.mul(x, 0)).toBe(E.ZERO);
    expect(E.mul(E.rat(2, 3), E.rat(3, 4))).toBe(E.rat(1, 2));
    expect(E.add(E.num(0.1), E.num(0.2))).toBe(E.rat(3, 10)); // exact, not 0.30000000000000004
    expect(E.mul(x, x)).toBe(E.pow(x, 2));
    expect(E.mul(E.pow(x, 2), E.pow(x, -1))).toBe(x);
    expect(E.add(x, x, E.mul(3, x))).toBe(E.mul(5, x));
    expect(E.sub(x, x)).toBe(E.ZERO);
    expect(E.pow(E.pow(x, E.HALF.rat!), 2)).toBe(x);
    expect(E.div(x, x)).toBe(E.ONE);
    expect(E.log(E.exp(x))).toBe(x);
    expect(E.abs(E.rat(-1, 3))).toBe(E.rat(1, 3));
  });

  it('keep floats that are not short decimals as floats', () => {
    const third = E.num(1 / 3);
    expect(third.rat).toBeUndefined();
    expect(third.value).toBe(1 / 3);
  });
});

describe('evaluation', () => {
  it('vectorised evaluation equals scalar evaluation pixel by pixel', () => {
    fc.assert(
      fc.property(exprArbitrary(FULL), fc.array(pointArbitrary, { minLength: 1, maxLength: 8 }), (f, points) => {
        const env = { x: Float64Array.from(points, (p) => p.x), y: Float64Array.from(points, (p) => p.y), z: Float64Array.from(points, (p) => p.z) };
        const [vec] = E.evaluateVec([f], env, points.length);
        points.forEach((p, i) => expect(Object.is(vec![i], E.evaluate(f, p)) || vec![i] === E.evaluate(f, p)).toBe(true));
      }),
      { numRuns: 200 },
    );
  });

  it('names the missing variable', () => {
    expect(() => E.evaluate(E.add(x, y), { x: 1 })).toThrow(/'y'/);
  });
});

describe('reverse mode', () => {
  it('shares subexpressions between the forward graph and the derivatives', () => {
    const inner = E.add(E.mul(x, y), 1);
    const f = E.mul(E.exp(inner), E.log(inner));
    const [dx, dy] = E.grad(f, [x, y]);
    const nodes = new Set(E.topoSort([f, dx!, dy!]).map((n) => n.id));
    expect(nodes.has(inner.id)).toBe(true);
    expect(E.topoSort([dx!]).includes(E.exp(inner))).toBe(true);
  });

  it('gives the Jacobian of several outputs and vector-Jacobian products', () => {
    const f = E.mul(x, x, y);
    const g = E.exp(E.mul(x, y));
    const J = E.jacobian([f, g], [x, y]);
    const env = { x: 0.3, y: -1.2 };
    expect(E.evaluate(J[0]![0]!, env)).toBeCloseTo(2 * 0.3 * -1.2, 14);
    expect(E.evaluate(J[1]![1]!, env)).toBeCloseTo(0.3 * Math.exp(-0.36), 14);
    const [vx] = E.vjp([f, g], [E.rat(2), E.rat(-1)], [x]);
    expect(E.evaluate(vx!, env)).toBeCloseTo(2 * (2 * 0.3 * -1.2) - -1.2 * Math.exp(-0.36), 14);
  });

  it('sends relu and max gradients as torch does: zero at the kink', () => {
    const r = E.relu(x);
    expect(E.evaluate(E.diff(r, x), { x: 0 })).toBe(0);
    expect(E.evaluate(E.diff(r, x), { x: 1e-300 })).toBe(1);
    expect(E.evaluate(E.diff(E.abs(x), x), { x: -2 })).toBe(-1);
    const m = E.max(x, y);
    expect(E.evaluate(E.diff(m, x), { x: 1, y: 1 })).toBe(0.5);
    expect(E.evaluate(E.diff(m, y), { x: 1, y: 2 })).toBe(1);
  });
});

describe('printing and the mathjs bridge', () => {
  it('round trip: print, mathjs parse, evaluate equals our evaluation at random points', () => {
    fc.assert(
      fc.property(exprArbitrary(FULL), pointArbitrary, (f, env) => {
        fc.pre(kinkDistance(f, env) > 1e-9); // rounding may flip a step exactly at its kink
        const ours = E.evaluate(f, env);
        const theirs = parse(E.toInfix(f)).evaluate({ ...M.mathjsScope, ...env }) as number;
        if (!Number.isFinite(ours)) return;
        expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(ours)));
      }),
      { numRuns: 1000 },
    );
  });

  it('parses what it prints back to a graph with the same values', () => {
    fc.assert(
      fc.property(exprArbitrary(FULL), (f) => {
        const back = M.fromMathjs(E.toInfix(f));
        const pts = [{ x: 0.3, y: 0.7, z: -0.2 }, { x: 1.1, y: -0.4, z: 0.9 }];
        for (const p of pts) {
          const a = E.evaluate(f, p);
          const b = E.evaluate(back, p);
          if (Number.isFinite(a) && kinkDistance(f, p) > 1e-9) expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(a)));
        }
      }),
      { numRuns: 500 },
    );
    expect(M.fromMathjs('x*y + sqrt(x) - 2/3')).toBe(E.add(E.mul(x, y), E.sqrt(x), E.rat(-2, 3)));
  });

  it('exports to a mathjs node that evaluates like ours', () => {
    const f = E.div(E.exp(x), E.add(E.pow(y, 2), 1));
    expect(M.toMathjs(f).evaluate({ x: 0.5, y: 2 })).toBeCloseTo(Math.exp(0.5) / 5, 15);
  });

  it('names the unsupported construct in its error', () => {
    expect(() => M.fromMathjs('sin(x)')).toThrow(/unsupported function 'sin'/);
    expect(M.fromMathjs('x^y')).toBe(E.powv(x, y)); // an expression exponent is powv
    expect(() => M.fromMathjs('pow(x, y, 2)')).toThrow(/unsupported function 'pow' with 3 argument/);
    expect(() => M.fromMathjs('x > 1 ? x : 2')).toThrow(/ConditionalNode/);
    expect(() => M.fromMathjs('x mod 2')).toThrow(/unsupported operator 'mod'/);
    expect(() => M.fromMathjs('x +')).toThrow(M.ExprParseError);
  });

  it('powv: an expression exponent, differentiated in base and exponent, printed for mathjs', () => {
    const f = E.powv(E.add(E.mul(x, x), 1), E.mul(y, 0.5));
    expect(E.powv(x, 2)).toBe(E.pow(x, 2)); // a constant exponent is an exact power
    const [dx, dy] = E.grad(f, [x, y]);
    const env = { x: 0.8, y: 1.3 };
    const h = 1e-5;
    const cd = (v: 'x' | 'y'): number => (E.evaluate(f, { ...env, [v]: env[v] + h }) - E.evaluate(f, { ...env, [v]: env[v] - h })) / (2 * h);
    expect(E.evaluate(dx!, env)).toBeCloseTo(cd('x'), 8);
    expect(E.evaluate(dy!, env)).toBeCloseTo(cd('y'), 8);
    expect(parse(E.toInfix(f)).evaluate(env)).toBeCloseTo(E.evaluate(f, env), 14);
    expect(M.fromMathjs(E.toInfix(f))).toBe(f);
  });
});
