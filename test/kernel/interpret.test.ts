/**
 * The kernel program's foundations: a boundary's index rule lowered into the program reads what
 * src/field's boundaryIndex reads, and the scalar graph lowered into lets computes what the graph
 * evaluates to (float64), and rounds each operation under a float32 binding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateMany } from '../../src/expr/eval.js';
import { BOUNDARIES, boundaryIndex } from '../../src/field/axis.js';
import { BOUNDARY_RULES } from '../../src/field/boundary.js';
import { sourceFunction } from '../../src/kernel/index-rule.js';
import { interpretKernel, moduleFunctions, type Binding } from '../../src/kernel/interpret.js';
import { load, real, s, type Kernel } from '../../src/kernel/ir.js';
import { lowerScalar } from '../../src/kernel/scalar.js';
import { csMap, ssimMap } from '../../src/model/maps.js';

describe('index rules in the kernel program', () => {
  for (const b of BOUNDARIES) {
    it(`source_${b}(j, n) is boundaryIndex(j, n, '${b}') for every j a window of up to 31 taps reads`, () => {
      const fn = moduleFunctions({ funcs: [sourceFunction(b)], kernels: [], programs: [] }).get(`source_${b}`)!;
      for (let n = 1; n <= 9; n++) {
        const lo = BOUNDARY_RULES[b].pads ? -15 : 0;
        const hi = BOUNDARY_RULES[b].pads ? n + 15 : n;
        for (let j = lo; j < hi; j++) {
          let want: number;
          try {
            want = boundaryIndex(j, n, b);
          } catch {
            continue; // a rule that cannot read there (reflect on a short axis): the kernels never ask
          }
          expect(fn([j, n]), `j=${j} n=${n}`).toBe(want);
        }
      }
    });
  }
});

describe('the scalar graph lowered into lets', () => {
  const maps = { ssim: ssimMap(), cs: csMap() };
  const moments = fc.record({
    mu_x: fc.double({ min: 0, max: 1, noNaN: true }),
    mu_y: fc.double({ min: 0, max: 1, noNaN: true }),
    vx: fc.double({ min: 0, max: 0.3, noNaN: true }),
    vy: fc.double({ min: 0, max: 0.3, noNaN: true }),
    rho: fc.double({ min: -1, max: 1, noNaN: true }),
  });
  for (const [name, map] of Object.entries(maps)) {
    const outputs: Array<[string, typeof map.F]> = [
      ['value', map.F],
      ['d_mu', map.dX.mu],
      ['d_sq', map.dX.sq],
      ['d_cross', map.dX.cross],
    ];
    const code = lowerScalar(outputs);
    const kernel = (store: boolean): Kernel => ({
      name: 'pointwise',
      doc: '',
      params: [
        { k: 'buffer', name: 'in', elem: 'f64', access: 'read' },
        { k: 'buffer', name: 'out', elem: 'f64', access: 'write' },
      ],
      returns: null,
      body: [
        ...['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy', 'C1', 'C2', 'c_n'].map((v, i) => s.let(v, load('in', i, 'f64'), 'acc')),
        ...code.stmts,
        ...(store ? code.outputNames.map((v, i) => s.store('out', i, real.ref(v))) : []),
      ],
    });
    const env = (m: { mu_x: number; mu_y: number; vx: number; vy: number; rho: number }) => {
      const m_xx = m.vx + m.mu_x * m.mu_x, m_yy = m.vy + m.mu_y * m.mu_y;
      const m_xy = m.rho * Math.sqrt(m.vx * m.vy) + m.mu_x * m.mu_y;
      return { mu_x: m.mu_x, mu_y: m.mu_y, m_xx, m_yy, m_xy, C1: 1e-4, C2: 9e-4, c_n: 1 };
    };
    it(`${name}: the lowered code equals the graph's evaluation (float64, bit for bit up to the sum order)`, () => {
      const run = interpretKernel(kernel(true), []);
      fc.assert(
        fc.property(moments, (m) => {
          const e = env(m);
          const input = Float64Array.from(Object.values(e));
          const out = new Float64Array(4);
          run({ in: input, out });
          const want = evaluateMany(outputs.map(([, n]) => n), e);
          for (let i = 0; i < 4; i++) expect(out[i]).toBeCloseTo(want[i]!, 12);
        }),
        { numRuns: 200 },
      );
    });
    it(`${name}: under a float32 binding every result is a float32 and close to float64`, () => {
      const f32: Binding = { real: 'float32', acc: 'float32', f64: 'float64' };
      const run32 = interpretKernel(kernel(true), [], f32);
      const run64 = interpretKernel(kernel(true), []);
      const e = env({ mu_x: 0.4, mu_y: 0.5, vx: 0.02, vy: 0.03, rho: 0.7 });
      const input = Float64Array.from(Object.values(e));
      const a = new Float64Array(4), b = new Float64Array(4);
      run32({ in: input, out: a });
      run64({ in: input, out: b });
      for (let i = 0; i < 4; i++) {
        expect(Math.fround(a[i]!)).toBe(a[i]);
        expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(b[i]!)));
        expect(a[i]).not.toBe(b[i]);
      }
    });
  }
  it('counts flops as the string printer does', () => {
    const m = ssimMap();
    expect(lowerScalar([['v', m.F]]).flops).toBeGreaterThan(10);
  });
});
