/**
 * The C++ JVP and HVP kernels (ssim_jvp, ssim_hvp in src/generated/cpp/ssim_grad.hpp, the programs of
 * src/emit/cpu-derivatives.ts printed by the C++ printer), compiled once with g++ (-ffp-contract=off:
 * no FMA) and run through the header's entry points on every case, equal the TypeScript kernels
 * printed from the same programs (src/generated/derivatives.ts) bit for bit: every boundary rule,
 * float64 and float32 storage, generic and unrolled windows, the JVP with its map, the HVP for both
 * rows, for x's and for y's alone (the entry point's swap), and a null direction. The TypeScript
 * kernels are checked against the graph interpreter in test/emit/derivatives.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelParams } from '../../src/emit/params.js';
import { BOUNDARIES, type Boundary } from '../../src/field/boundary.js';
import { gaussianTaps } from '../../src/field/window.js';
import { ssimDerivativeKernels } from '../../src/generated/derivatives.js';
import { kernelVariant } from '../../src/runtime/fast.js';
import { buildCpp, missingToolchain, ROOT, runJsonLines } from '../support/cpp.js';

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-derivatives-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  readonly storage: 'float64' | 'float32';
  readonly padding: Boundary;
  readonly taps: number[];
  readonly shape: [number, number, number, number];
  readonly crop: number;
  readonly c_n: number;
}

const gaussian = (k: number, sigma: number): number[] => Array.from(gaussianTaps(k, sigma));

const CASES: Case[] = BOUNDARIES.flatMap((padding, i): Case[] => [
  // unrolled (11, 7) and generic (9, 5) windows in turn; a crop and sample covariance under two rules
  { storage: 'float64', padding, taps: [gaussian(11, 1.5), gaussian(9, 1.2), gaussian(7, 1.5), gaussian(5, 1)][i % 4]!, shape: [1, 2, 14 + i, 16 - i], crop: padding === 'mirror' || padding === 'reflect' ? 2 : 0, c_n: padding === 'reflect' ? 49 / 48 : 1 },
  { storage: 'float32', padding, taps: i % 2 === 0 ? gaussian(7, 1.5) : gaussian(3, 1), shape: [2, 1, 9, 11], crop: 0, c_n: 1 },
]);

/** Deterministic inputs in [0, 1] (y a noisy copy of x) and directions in [-1, 1], rounded to the storage. */
function inputs(c: Case, seed: number): { x: Float64Array; y: Float64Array; dx: Float64Array; dy: Float64Array } {
  let st = seed;
  const r = (): number => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
  const n = c.shape.reduce((a, b) => a * b, 1);
  const round = c.storage === 'float32' ? Math.fround : (v: number): number => v;
  const x = Float64Array.from({ length: n }, () => round(r()));
  const y = x.map((v) => round(Math.min(1, Math.max(0, v + 0.3 * (r() - 0.5)))));
  const d = (): Float64Array => Float64Array.from({ length: n }, () => round(2 * r() - 1));
  return { x, y, dx: d(), dy: d() };
}

function params(c: Case): KernelParams {
  const [N, C, H, W] = c.shape;
  const k = c.taps.length;
  const [MH, MW] = c.padding === 'valid' ? [H - k + 1, W - k + 1] : [H, W];
  const omega = 1 / (N * C * (MH - 2 * c.crop) * (MW - 2 * c.crop));
  return { N, C, H, W, padding: c.padding, tapsH: Float64Array.from(c.taps), tapsW: Float64Array.from(c.taps), C1: 1e-4, C2: 9e-4, c_n: c.c_n, crop: c.crop, omega };
}

const hex = (v: number): string => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, '0');
};

/** What test/cpp/derivatives.cpp prints for a case, from the TypeScript kernels, as bit patterns. */
function expected(c: Case, p: KernelParams, d: ReturnType<typeof inputs>): string[] {
  const k = ssimDerivativeKernels[kernelVariant(p)];
  const A = c.storage === 'float32' ? Float32Array : Float64Array;
  const [x, y, dx, dy] = [A.from(d.x), A.from(d.y), A.from(d.dx), A.from(d.dy)];
  const n = x.length;
  const nm = p.N * p.C * (p.padding === 'valid' ? (p.H - c.taps.length + 1) * (p.W - c.taps.length + 1) : p.H * p.W);
  // one call shape for both storages: the kernels of a storage take its arrays
  const jvp = (c.storage === 'float32' ? k.jvpF32 : k.jvpF64) as (x: unknown, y: unknown, dx: unknown, dy: unknown, p: KernelParams, out: unknown) => number;
  const hvp = (c.storage === 'float32' ? k.hvpF32 : k.hvpF64) as (x: unknown, y: unknown, vx: unknown, vy: unknown, p: KernelParams, out: unknown) => number;
  const bits: number[] = [];
  const tangent = new Float64Array(1);
  const jo = { tangent, map: new A(nm), mapTangent: new A(nm) };
  bits.push(jvp(x, y, dx, dy, p, jo), tangent[0]!, ...jo.map, ...jo.mapTangent);
  const both = { gradX: new A(n), hvpX: new A(n), gradY: new A(n), hvpY: new A(n) };
  bits.push(hvp(x, y, dx, dy, p, both), ...both.gradX, ...both.hvpX, ...both.gradY, ...both.hvpY);
  const ox = { gradX: new A(n), hvpX: new A(n), gradY: null, hvpY: null };
  bits.push(hvp(x, y, dx, dy, p, ox), ...ox.gradX, ...ox.hvpX);
  // y's row: x's row of (y, x) in the direction (dy, dx)
  const oy = { gradX: new A(n), hvpX: new A(n), gradY: null, hvpY: null };
  bits.push(hvp(y, x, dy, dx, p, oy), ...oy.gradX, ...oy.hvpX);
  jvp(x, y, dx, new A(n), p, { tangent, map: null, mapTangent: null });
  bits.push(tangent[0]!);
  return bits.map(hex);
}

describe('the C++ JVP and HVP kernels', () => {
  it('g++ is installed (CI: .ci/run installs it)', () => {
    expect(missingToolchain()).toBeNull();
  });

  it('equal the TypeScript kernels bit for bit: every rule, both storages, generic and unrolled, every row', () => {
    const num = (v: number): string => v.toPrecision(17);
    const lines = CASES.map((c, i) => {
      const p = params(c);
      const d = inputs(c, 31 + i);
      const head = [c.storage === 'float32' ? 1 : 0, p.N, p.C, p.H, p.W, BOUNDARIES.indexOf(c.padding), p.crop, num(p.C1), num(p.C2), num(p.c_n), num(p.omega)];
      return [...head, c.taps.length, ...c.taps.map(num), c.taps.length, ...c.taps.map(num), ...[d.x, d.y, d.dx, d.dy].flatMap((a) => Array.from(a, num))].join(' ');
    });
    const file = join(dir, 'cases.txt');
    writeFileSync(file, lines.join('\n'));
    const bin = buildCpp({ main: join(ROOT, 'test/cpp/derivatives.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: false, flags: ['-ffp-contract=off'] });
    const rows = runJsonLines(bin, [file]);
    expect(rows).toHaveLength(CASES.length);
    CASES.forEach((c, i) => {
      const p = params(c);
      const want = expected(c, p, inputs(c, 31 + i));
      const got = (rows[i]!.bits as string).trim().split(' ');
      const name = `${c.storage} ${c.padding} ${c.taps.length} taps`;
      expect(got.length, name).toBe(want.length);
      // the first few positions whose bits differ (none)
      expect(got.map((g, j) => (g !== want[j] ? j : -1)).filter((j) => j >= 0).slice(0, 8), `${name}: values whose bits differ`).toEqual([]);
    });
  }, 300_000);
});
