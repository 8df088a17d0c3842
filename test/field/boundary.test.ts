/**
 * The boundary table (src/field/boundary.ts): each rule's program reads what the rule says
 * (written here again, independently), its flags say what its matrix does, and the C++ and CUDA
 * kernels print the program boundaryIndex runs.
 */
import { describe, expect, it } from 'vitest';
import { axisOp, BOUNDARIES, boundaryIndex, type Boundary } from '../../src/field/index.js';
import { BOUNDARY_RULES } from '../../src/field/boundary.js';
import { describeOptions, SSIM_OPTION_SPECS } from '../../src/cli/args.js';
import { sourcesEverywhere } from './source-cpp.js';

/** The rules as they read outside [0, n), spelled out (the switch boundaryIndex had before the table). */
function expected(j: number, n: number, rule: Boundary): number {
  if (j >= 0 && j < n) return j;
  const wrap = (p: number): number => ((j % p) + p) % p;
  switch (rule) {
    case 'same':
      return -1;
    case 'valid':
      throw new Error('valid reads nothing outside');
    case 'replicate':
      return j < 0 ? 0 : n - 1;
    case 'reflect': {
      const k = wrap(2 * n);
      return k < n ? k : 2 * n - 1 - k;
    }
    case 'mirror': {
      if (n === 1) return 0;
      const k = wrap(2 * n - 2);
      return k < n ? k : 2 * n - 2 - k;
    }
  }
}

/** The dense n x n matrix of a centred window of symmetric taps under a rule. */
function dense(n: number, rule: Boundary): number[][] {
  const taps = [0.1, 0.25, 0.3, 0.25, 0.1];
  const op = axisOp(n, { taps, origin: 2, boundary: rule });
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let t = 0; t < taps.length; t++) if (op.index[i * taps.length + t]! >= 0) m[i]![op.index[i * taps.length + t]!]! += taps[t]!;
  return m;
}

describe('the boundary table', () => {
  const padding = BOUNDARIES.filter((b) => BOUNDARY_RULES[b].pads);

  it('names the five rules, in the C++ enum order', () => {
    expect(BOUNDARIES).toEqual(['same', 'valid', 'reflect', 'mirror', 'replicate']);
    expect(padding).toEqual(['same', 'reflect', 'mirror', 'replicate']);
  });

  it.each(padding)('%s: the program reads what the rule says, also beyond one period', (rule) => {
    for (const n of [1, 2, 3, 4, 5, 8]) for (let j = -4 * n; j < 5 * n; j++) expect(boundaryIndex(j, n, rule), `j ${j}, n ${n}`).toBe(expected(j, n, rule));
  });

  it("'valid' reads nothing outside: boundaryIndex refuses", () => {
    expect(boundaryIndex(2, 4, 'valid')).toBe(2);
    expect(() => boundaryIndex(-1, 4, 'valid')).toThrow("axis: index -1 outside [0, 4) under 'valid'");
  });

  it.each(padding)('%s: selfAdjoint and foldsBack say what the matrix does (symmetric taps)', (rule) => {
    const m = dense(9, rule);
    const symmetric = m.every((row, i) => row.every((v, j) => Math.abs(v - m[j]![i]!) < 1e-15));
    expect(symmetric).toBe(BOUNDARY_RULES[rule].selfAdjoint);
    // folds back: a sample outside reads a pixel (so the adjoint adds it there)
    expect([-2, -1, 9, 10].some((j) => boundaryIndex(j, 9, rule) >= 0)).toBe(BOUNDARY_RULES[rule].foldsBack);
  });

  it("the CLI's --padding help is the table's names and glosses", () => {
    expect(describeOptions(SSIM_OPTION_SPECS).split('\n').find((l) => l.startsWith('  --padding '))).toBe(
      "  --padding VALUE            boundary rule: same, valid, reflect, mirror, replicate (same = zero padding, reflect = scipy half-sample, mirror = torch reflect) (default: the preset's)",
    );
  });

  it('the C++ and CUDA source() compiled with g++ read what boundaryIndex reads, under every rule', () => {
    const rows = sourcesEverywhere();
    expect(new Set(rows.map((r) => r.rule))).toEqual(new Set(BOUNDARIES));
    for (const r of rows) {
      expect(r.cpp, `${r.rule} j ${r.j} n ${r.n}`).toBe(r.ts);
      expect(r.cuda, `${r.rule} j ${r.j} n ${r.n}`).toBe(r.ts);
    }
  }, 120_000);
});
