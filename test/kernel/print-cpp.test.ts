/**
 * The C++ printer (src/kernel/print-cpp.ts): the kernels it prints into src/generated/cpp/ssim_grad.hpp,
 * compiled with g++ (-ffp-contract=off: no FMA) and run through the header's entry points, equal the
 * TypeScript kernels printed from the same programs (src/generated/<family>.ts) bit for bit in float64
 * arithmetic: SSIM and cs under every boundary rule, float64 and float32 storage, generic and unrolled
 * windows, value and both gradients. Wang's form (std::pow against Math.pow, which may round apart by an
 * ulp) to 1e-13 of its largest gradient. The same program in the same order gives the same bits; a
 * forgotten conversion (a float32 sample multiplied in float) or a reordered sum does not.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOUNDARIES, type Boundary } from '../../src/field/boundary.js';
import type { KernelParams } from '../../src/emit/params.js';
import { csGradF64, csValueF64 } from '../../src/generated/cs.js';
import { ssimGradF32, ssimGradF64, ssimValueF32, ssimValueF64 } from '../../src/generated/ssim.js';
import { wangGradF64, wangValueF64 } from '../../src/generated/wang.js';
import { CppPrinter } from '../../src/kernel/print-cpp.js';
import { real, s, type Kernel } from '../../src/kernel/ir.js';
import { buildCpp, missingToolchain, ROOT, runJsonLines } from '../support/cpp.js';

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-bits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Family = 'ssim' | 'cs' | 'wang';
interface Case {
  readonly family: Family;
  readonly storage: 'float64' | 'float32';
  readonly padding: Boundary;
  readonly taps: number[];
  readonly shape: [number, number, number, number];
  readonly crop: number;
  readonly c_n: number;
}

const gaussian = (k: number, sigma: number): number[] => {
  const t = Array.from({ length: k }, (_, i) => Math.exp(-((i - (k - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const sum = t.reduce((a, b) => a + b, 0);
  return t.map((v) => v / sum);
};

/** The TypeScript kernels of a case: value, value-and-gradient. */
function tsKernels(c: Case): { value: (x: never, y: never, p: KernelParams) => number; grad: (x: never, y: never, p: KernelParams, out: never) => number } {
  if (c.family === 'cs') return { value: csValueF64 as never, grad: csGradF64 as never };
  if (c.family === 'wang') return { value: wangValueF64 as never, grad: wangGradF64 as never };
  return c.storage === 'float32' ? { value: ssimValueF32 as never, grad: ssimGradF32 as never } : { value: ssimValueF64 as never, grad: ssimGradF64 as never };
}

const CASES: Case[] = [];
BOUNDARIES.forEach((padding, i) => {
  for (const family of ['ssim', 'cs', 'wang'] as const) {
    // an unrolled window (11) for some, a generic one (9, or 7 x 7 box under skimage's options) for others
    const taps = i % 2 === 0 ? gaussian(11, 1.5) : padding === 'reflect' ? Array(7).fill(1 / 7) : gaussian(9, 1.2);
    CASES.push({ family, storage: 'float64', padding, taps, shape: [1, 2, 19 + i, 23 - i], crop: padding === 'mirror' ? 2 : 0, c_n: padding === 'reflect' ? 49 / 48 : 1 });
  }
  CASES.push({ family: 'ssim', storage: 'float32', padding, taps: gaussian(7, 1.5), shape: [2, 1, 17, 20], crop: 0, c_n: 1 });
});

const WANG = { alpha: 1.5, beta: 0.75, gamma: 2 };

/** Deterministic inputs in [0, 1], y a noisy copy of x, rounded to the storage. */
function inputs(c: Case, seed: number): { x: Float64Array; y: Float64Array } {
  let st = seed;
  const r = (): number => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
  const n = c.shape.reduce((a, b) => a * b, 1);
  const round = c.storage === 'float32' ? Math.fround : (v: number): number => v;
  const x = Float64Array.from({ length: n }, () => round(r()));
  const y = x.map((v) => round(Math.min(1, Math.max(0, v + 0.3 * (r() - 0.5)))));
  return { x, y };
}

function params(c: Case): KernelParams {
  const [N, C, H, W] = c.shape;
  const k = c.taps.length;
  const [MH, MW] = c.padding === 'valid' ? [H - k + 1, W - k + 1] : [H, W];
  const omega = 1 / (N * C * (MH - 2 * c.crop) * (MW - 2 * c.crop));
  return { N, C, H, W, padding: c.padding, tapsH: Float64Array.from(c.taps), tapsW: Float64Array.from(c.taps), C1: 1e-4, C2: 9e-4, c_n: c.c_n, crop: c.crop, omega, ...WANG };
}

const hex = (v: number): string => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, '0');
};

describe('the C++ printer', () => {
  it('g++ is installed (CI: .ci/run installs it)', () => {
    expect(missingToolchain()).toBeNull();
  });

  it('printed C++ kernels equal the TypeScript kernels bit for bit (float64 arithmetic): every family, rule, storage', () => {
    const num = (v: number): string => v.toPrecision(17);
    const lines = CASES.map((c, i) => {
      const p = params(c);
      const { x, y } = inputs(c, 11 + i);
      const head = [['ssim', 'cs', 'wang'].indexOf(c.family), c.storage === 'float32' ? 1 : 0, p.N, p.C, p.H, p.W, BOUNDARIES.indexOf(c.padding), p.crop, num(p.C1), num(p.C2), num(p.c_n), num(p.omega), WANG.alpha, WANG.beta, WANG.gamma];
      return [...head, c.taps.length, ...c.taps.map(num), c.taps.length, ...c.taps.map(num), ...Array.from(x, num), ...Array.from(y, num)].join(' ');
    });
    const file = join(dir, 'cases.txt');
    writeFileSync(file, lines.join('\n'));
    const bin = buildCpp({ main: join(ROOT, 'test/cpp/bits.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: false, flags: ['-ffp-contract=off'] });
    const rows = runJsonLines(bin, [file]);
    expect(rows).toHaveLength(CASES.length);
    let worst = 0;
    CASES.forEach((c, i) => {
      const p = params(c);
      const { x, y } = inputs(c, 11 + i);
      const k = tsKernels(c);
      const array = c.storage === 'float32' ? Float32Array : Float64Array;
      const [xs, ys] = [array.from(x), array.from(y)];
      const out = { gradX: new array(x.length), gradY: new array(x.length) };
      const v = k.grad(xs as never, ys as never, p, out as never);
      const vOnly = k.value(xs as never, ys as never, p);
      const want = [v, vOnly, ...Array.from(out.gradX), ...Array.from(out.gradY)].map(hex);
      const got = (rows[i]!.bits as string).trim().split(' ');
      const name = `${c.family} ${c.storage} ${c.padding} ${c.taps.length} taps`;
      expect(got.length, name).toBe(want.length);
      const differing = got.filter((g, j) => g !== want[j]).length;
      if (c.family !== 'wang') {
        expect(differing, `${name}: values whose bits differ`).toBe(0);
        return;
      }
      // Wang's powers: std::pow (glibc) and Math.pow (V8's fdlibm) may round differently by an ulp, which
      // the rest of the program carries on; the value and gradients stay within a few float64 ulps of the map's scale
      const u = (h: string): number => new DataView(new BigUint64Array([BigInt(`0x${h}`)]).buffer).getFloat64(0, true);
      const scale = Math.max(...want.slice(2).map((h) => Math.abs(u(h))));
      worst = Math.max(worst, ...got.slice(2).map((g, j) => Math.abs(u(g) - u(want[j + 2]!)) / scale));
      expect(Math.abs(u(got[0]!) - u(want[0]!)), `${name}: value`).toBeLessThan(1e-15);
    });
    expect(worst, 'Wang: largest gradient difference, relative to the largest gradient').toBeLessThan(1e-13);
    console.log(`test/kernel/print-cpp.test.ts: Wang (std::pow against Math.pow): gradients within ${worst.toExponential(2)} of the largest, relative`);
  }, 300_000);

  it("converts a 'real' operand of an 'acc' operation to Acc, and types literals", () => {
    const k: Kernel = {
      name: 'k',
      doc: 'a test kernel',
      params: [{ k: 'buffer', name: 'x', elem: 'real', access: 'read' }],
      returns: 'f64',
      body: [s.let('v', real.mul({ k: 'load', type: 'real', buf: 'x', at: { k: 'lit', type: 'i32', value: 0 } }, real.lit(0.5))), s.return(real.cast('f64', real.ref('v')))],
    };
    const text = new CppPrinter({ rules: { names: ['a'], type: 'Rule' } }).kernel(k);
    expect(text).toContain('const Acc v = Acc(x[0]) * Acc(0.5);');
    expect(text).toContain('return double(v);');
  });
});
