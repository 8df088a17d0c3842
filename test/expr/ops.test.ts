/**
 * The op table (src/expr/ops.ts) holds every printer's spelling of every op; the compiler refuses a
 * row without one. This test says the spellings mean the op: each op's samples, printed by each
 * printer (infix read back by mathjs, LaTeX read back by KaTeX, straight-line TypeScript in float64
 * and emulated float32), evaluate as the graph does; substitute rebuilds each op; each derivative
 * agrees with central differences. (C++: test/emit/cpp-printer.test.ts compiles the same samples.)
 */
import { parse } from 'mathjs';
import { describe, expect, it } from 'vitest';
import * as E from '../../src/expr/index.js';
import * as M from '../../src/expr/mathjs.js';
import type { Node, Op } from '../../src/expr/index.js';
import { toLatex } from '../../src/expr/latex.js';
import { rules } from '../../src/expr/ops.js';
import { emitPointwise } from '../../src/expr/pointwise.js';
import { evaluateTex } from '../support/katex-eval.js';
import { opSamples } from './op-samples.js';

const x = E.variable('x');
const y = E.variable('y');
const samples = opSamples(x, y);
const ops = Object.keys(rules) as Op[];
// away from every kink of the samples (x = y, x = 0)
const points = [
  { x: 0.7, y: 1.3 },
  { x: -2.1, y: 0.4 },
];

const close = (got: number, want: number, rel: number): boolean => Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));

function runCode(f: Node, fround: boolean, env: { x: number; y: number }): number {
  const code = emitPointwise([['out', f]], new Map(), { lang: 'ts', fround });
  // the emitted lines are the body of a function of the variables
  const body = `${code.lines.join('\n')}\nreturn out;`;
  return (new Function('x', 'y', body) as (x: number, y: number) => number)(env.x, env.y);
}

describe('the op table: every printer spells every op as what it is', () => {
  it('has samples of every op, each sample rooted at its op', () => {
    expect(Object.keys(samples).sort()).toEqual([...ops].sort());
    for (const op of ops) for (const f of samples[op]) expect(f.op, E.toInfix(f)).toBe(op);
  });

  it.each(ops)('%s', (op) => {
    for (const f of samples[op]) {
      const infix = E.toInfix(f);
      expect(M.fromMathjs(infix), `${infix} read back`).toBe(f);
      const tex = toLatex(f);
      expect(E.substitute([f], new Map([['x', x]]))[0], `substitute ${infix}`).toBe(f);
      const [shifted] = E.substitute([f], new Map([['x', E.add(y, 1)]]));
      const partials = E.grad(f, [x, y]);
      for (const p of points) {
        const want = E.evaluate(f, p);
        expect(Number.isFinite(want)).toBe(true);
        const at = `${op}: ${infix} at ${JSON.stringify(p)}`;
        expect(close(parse(infix).evaluate({ ...M.mathjsScope, ...p }) as number, want, 1e-14), `infix ${at}`).toBe(true);
        expect(close(evaluateTex(tex, p), want, 1e-14), `LaTeX ${tex} ${at}`).toBe(true);
        expect(close(runCode(f, false, p), want, 1e-15), `float64 code ${at}`).toBe(true);
        expect(close(runCode(f, true, p), want, 1e-6), `float32 code ${at}`).toBe(true);
        expect(close(E.evaluate(shifted!, p), E.evaluate(f, { x: p.y + 1, y: p.y }), 1e-15), `substitute ${at}`).toBe(true);
        const h = 1e-6;
        for (const [v, d] of [['x', partials[0]!], ['y', partials[1]!]] as const) {
          const cd = (E.evaluate(f, { ...p, [v]: p[v] + h }) - E.evaluate(f, { ...p, [v]: p[v] - h })) / (2 * h);
          expect(close(E.evaluate(d, p), cd, 1e-6), `d/d${v} ${at}`).toBe(true);
        }
      }
    }
  });
});
