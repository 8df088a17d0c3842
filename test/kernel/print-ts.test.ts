/**
 * The TypeScript printer against the program's meaning: every generated CPU kernel (src/generated,
 * printed from src/emit/cpu-program.ts) computes, bit for bit, what the interpreter computes from
 * the same program, under float64 and float32 storage and emulated float32 arithmetic, for every
 * boundary rule. A printer that drops a rounding, swaps operands or misprints a precedence fails.
 */
import { describe, expect, it } from 'vitest';
import { cpuProgram } from '../../src/emit/cpu-program.js';
import { KERNEL_FAMILIES } from '../../src/emit/families.js';
import { BOUNDARIES } from '../../src/field/boundary.js';
import { gaussianTaps } from '../../src/field/window.js';
import * as cs from '../../src/generated/cs.js';
import * as gsLoss from '../../src/generated/gsLoss.js';
import * as ssim from '../../src/generated/ssim.js';
import * as wang from '../../src/generated/wang.js';
import { boundaryIndexFunction, mapLengthFunction } from '../../src/kernel/index-rule.js';
import { interpretKernel, type Binding } from '../../src/kernel/interpret.js';

const generated: Record<string, Record<string, unknown>> = { ssim, cs, wang, gsLoss };
/** n numbers in [0, 1) from a seed (a small LCG: the same inputs every run). */
function numbers(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = s / 2147483648;
  }
  return a;
}

const funcs = [boundaryIndexFunction(), mapLengthFunction()];

type Kernel = (x: Float64Array | Float32Array, y: Float64Array | Float32Array, p: object, out?: object) => number;

describe('printed TypeScript kernels = the interpreted program', () => {
  for (const family of KERNEL_FAMILIES) {
    it(`${family.name}: every kernel, every boundary rule`, () => {
      const { kernels } = cpuProgram(family);
      let runs = 0;
      for (const { kernel, storage, arithmetic } of kernels) {
        const printed = generated[family.name]![kernel.name] as Kernel;
        expect(printed, kernel.name).toBeTypeOf('function');
        const binding: Binding = { real: storage, acc: arithmetic, f64: 'float64' };
        const run = interpretKernel(kernel, funcs, binding);
        const k = Number(/K(\d+)$/.exec(kernel.name)?.[1] ?? 5);
        const taps = Float64Array.from(gaussianTaps(k, 1.5));
        const [N, C, H, W] = [1, 2, 12, 15];
        const n = N * C * H * W;
        const A = storage === 'float32' ? Float32Array : Float64Array;
        const x = A.from(numbers(n, 11)), y = A.from(numbers(n, 12));
        for (const padding of BOUNDARIES) {
          const params = (rule: unknown) => ({ N, C, H, W, padding: rule, tapsH: taps, tapsW: taps, C1: 1e-4, C2: 9e-4, c_n: 1, crop: 1, omega: 0.01, pixelOmega: 0.003, planeSums: new Float64Array(N * C), rowSums: new Float64Array(N * C * H), alpha: 1.2, beta: 0.9, gamma: 1.1 });
          const p1 = params(padding), p2 = params(BOUNDARIES.indexOf(padding));
          const out1 = { gradX: new A(n), gradY: new A(n) }, out2 = { gradX: new A(n), gradY: new A(n) };
          const grad = kernel.name.includes('Grad');
          const v1 = grad ? printed(x, y, p1, out1) : printed(x, y, p1);
          const v2 = run({ x, y, p: p2, out: out2 });
          expect(Object.is(v1, v2), `${kernel.name} ${padding}: ${v1} vs ${v2}`).toBe(true);
          expect(p1.planeSums).toEqual(p2.planeSums);
          expect(p1.rowSums).toEqual(p2.rowSums);
          if (grad) {
            expect(out1.gradX, `${kernel.name} ${padding} d/dx`).toEqual(out2.gradX);
            expect(out1.gradY, `${kernel.name} ${padding} d/dy`).toEqual(out2.gradY);
          }
          runs++;
        }
      }
      expect(runs).toBe(kernels.length * BOUNDARIES.length);
    });
  }
});
