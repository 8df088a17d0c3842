/**
 * emitPointwise's C++ printer: a graph with every primitive (add, mul, the pow table and a general
 * power, exp, log, abs, sign, max, step, powv) printed as C++, compiled with g++ (no libtorch) and
 * evaluated at sample points, equals the graph's own evaluator, in double and (to float rounding)
 * in float. The SSIM kernels use a subset; the variants' maps (Wang's powv, step, max) use the rest.
 * Each op's samples (test/expr/op-samples.ts) are printed too.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abs, add, div, evaluate, exp, log, max, mul, pow, powv, sign, sqrt, step, sub, variable, type Node } from '../../src/expr/index.js';
import { emitPointwise } from '../../src/expr/pointwise.js';
import { buildCpp, runJsonLines } from '../support/cpp.js';
import { opSamples } from '../expr/op-samples.js';

describe('C++ printer of the pointwise graph', () => {
  it('every primitive compiles and evaluates as the graph does (double to 1e-15, float to 1e-6)', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => variable(n)) as [Node, Node, Node];
    const outputs: Array<[string, Node]> = [
      ['o_poly', add(mul(2, a, b), pow(a, 2), mul(-3, c), pow(b, 3))],
      ['o_div', div(sub(a, b), add(pow(c, 2), 1))],
      ['o_roots', add(sqrt(add(pow(a, 2), 1)), pow(add(pow(b, 2), 2), -0.5), pow(add(c, 4), -2))],
      ['o_frac', pow(add(pow(a, 2), 1), 1.5)],
      ['o_explog', add(exp(mul(0.5, a)), log(add(pow(b, 2), 1)))],
      ['o_abs_sign', add(abs(sub(a, c)), mul(sign(sub(b, a)), 0.25))],
      ['o_max_step', add(max(a, c), mul(step(sub(b, c)), 7))],
      ['o_powv', powv(add(pow(a, 2), 0.5), add(b, 1.5))],
      // and each op's samples (the op table's test runs them through the other printers)
      ...Object.entries(opSamples(a, b)).flatMap(([op, nodes]) => nodes.map((n, i): [string, Node] => [`o_${op}_${i}`, n])),
    ];
    const code = emitPointwise(outputs, new Map(), { lang: 'cpp' });
    expect(code.lines.join('\n')).not.toMatch(/Math\./);
    const points = [
      [0.3, -1.2, 2.5],
      [-0.7, 0.4, -0.1],
      [1.9, 1.9, 0.6],
    ];
    const src = `#include <cmath>
#include <cstdio>
#include <algorithm>
template <typename T>
void eval(const T a, const T b, const T c, double* out) {
${code.lines.map((l) => `  ${l}`).join('\n')}
${outputs.map(([n], i) => `  out[${i}] = double(${n});`).join('\n')}
}
int main() {
  const double pts[][3] = {${points.map((p) => `{${p.join(', ')}}`).join(', ')}};
  for (const auto& p : pts) {
    double d[${outputs.length}], f[${outputs.length}];
    eval<double>(p[0], p[1], p[2], d);
    eval<float>(float(p[0]), float(p[1]), float(p[2]), f);
    std::printf("{\\"double\\":[");
    for (int i = 0; i < ${outputs.length}; i++) std::printf("%s%.17g", i ? "," : "", d[i]);
    std::printf("],\\"float\\":[");
    for (int i = 0; i < ${outputs.length}; i++) std::printf("%s%.9g", i ? "," : "", f[i]);
    std::printf("]}\\n");
  }
}
`;
    const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-printer-'));
    const main = join(dir, 'printer.cpp');
    writeFileSync(main, src);
    const rows = runJsonLines(buildCpp({ main, includes: [], torch: false }));
    expect(rows).toHaveLength(points.length);
    points.forEach(([pa, pb, pc], k) => {
      outputs.forEach(([name, node], i) => {
        const want = evaluate(node, { a: pa!, b: pb!, c: pc! });
        const d = (rows[k]!.double as number[])[i]!;
        const f = (rows[k]!.float as number[])[i]!;
        expect(Math.abs(d - want), `${name} double at ${points[k]}`).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want)));
        expect(Math.abs(f - want), `${name} float at ${points[k]}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      });
    });
  });
});
