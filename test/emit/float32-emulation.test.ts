/**
 * The rounding floor rests on a kernel that emulates float32 in JavaScript (Math.fround after every
 * operation, src/emit/kernels.ts in float32), so it is only as good as that emulation. Oracle: the same
 * schedule emitted as C++ (src/generated/cpp/ssim_grad.hpp) and compiled by g++ for T = Acc = float,
 * which is real IEEE float32 arithmetic (compiled with -ffp-contract=off: nothing fused into an FMA). Both
 * follow one operation order, so their gradients agree bit for bit: one forgotten Math.fround (an
 * accumulator summed in double) moves the floor by only 10-30 %, which no tolerance sees, but it
 * changes the bits. The C++ float value is checked against float64 on its own: its sum over a
 * plane of 16k pixels must be accumulated in double.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOUNDARIES } from '../../src/field/axis.js';
import type { Tensor } from '../../src/field/index.js';
import { planKernel, ssimGradFloat32Arith } from '../../src/runtime/fast.js';
import { evaluateSsim, type SsimOptions } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from '../check/configs.js';
import { buildCpp, missingToolchain, ROOT, runJsonLines } from '../support/cpp.js';

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-f32-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The generated C++ kernels in float on x, y (rounded to float32): both gradients, the value from both kernels. */
function cppFloat(tag: string, x: Tensor, y: Tensor, options: SsimOptions): { gradX: Float32Array; gradY: Float32Array; value: number; valueOnly: number } {
  // no FMA contraction on any target (aarch64 would fuse out += w * (a + b) by default)
  const bin = buildCpp({ main: join(ROOT, 'test/cpp/float32.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: false, flags: ['-ffp-contract=off'] });
  const plan = planKernel(x, y, options);
  const p = plan.params;
  // what test/cpp/float32.cpp's Params can hold
  expect(plan.downsample).toBeNull();
  expect(p.planeOmega).toBeUndefined();
  const file = (s: string): string => join(dir, `${tag}.${s}`);
  // 17 digits read back as the same double in C++
  const num = (v: number): string => v.toPrecision(17);
  const fields = [p.N, p.C, p.H, p.W, BOUNDARIES.indexOf(p.padding), p.crop, num(p.C1), num(p.C2), num(p.c_n), num(p.omega)];
  writeFileSync(file('params'), [...fields, p.tapsH.length, ...Array.from(p.tapsH, num), p.tapsW.length, ...Array.from(p.tapsW, num)].join(' '));
  const raw = (t: Tensor): Buffer => Buffer.from(Float32Array.from(Array.from(t.data as ArrayLike<number>, Number)).buffer);
  writeFileSync(file('x'), raw(x));
  writeFileSync(file('y'), raw(y));
  const [row] = runJsonLines(bin, [file('params'), file('x'), file('y'), file('gx'), file('gy')]);
  const read = (s: string): Float32Array => {
    const b = readFileSync(file(s));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  return { gradX: read('gx'), gradY: read('gy'), value: row!.value as number, valueOnly: row!.valueOnly as number };
}

/** How many entries differ in their bits. */
const differing = (a: Float32Array, b: Float64Array): number => a.reduce((k, v, i) => k + (Object.is(v, b[i]) ? 0 : 1), 0);

describe('the float32 emulation is float32 arithmetic', () => {
  it('g++ is installed (CI: .ci/run installs it)', () => {
    expect(missingToolchain()).toBeNull();
  });

  // every boundary rule, a crop, sample covariance, 'valid' and 'sum'; d/dy is the kernels' second output
  it.each(CHECK_CONFIGS.filter((c) => c.wrt === 'x').map((c, i) => [c.name, c, i] as const))('%s: d/dx and d/dy equal g++ float bit for bit', (_, cfg, i) => {
    const c = cppFloat(`config${i}`, cfg.x, cfg.y, cfg.options);
    const ts = ssimGradFloat32Arith(cfg.x, cfg.y, cfg.options);
    expect(c.gradX.length).toBe(ts.gradX.length);
    expect(differing(c.gradX, ts.gradX), 'd/dx values whose bits differ').toBe(0);
    expect(differing(c.gradY, ts.gradY), 'd/dy values whose bits differ').toBe(0);
    // the same float32 map summed in double (the emulation's total carries omega rounded to float32)
    expect(Math.abs(c.value - ts.ssim)).toBeLessThan(2e-7 * Math.abs(ts.ssim));
  });

  it('the float value of a 2 x 128 x 128 pair is within 2.5e-7 of float64: both kernels sum a plane in double', () => {
    const [H, W] = [128, 128];
    let s = 7;
    const r = (): number => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const n = 2 * H * W;
    const xd = Float64Array.from({ length: n }, (_, i) => Math.fround(0.5 + 0.3 * Math.sin(i * 0.01) + 0.2 * r()));
    const yd = xd.map((v) => Math.fround(Math.min(1, Math.max(0, v + 0.2 * (r() - 0.5)))));
    const x = { shape: [1, 2, H, W], data: xd };
    const y = { shape: [1, 2, H, W], data: yd };
    const exact = evaluateSsim(x, y, {}).ssim;
    const c = cppFloat('large', x, y, {});
    // float32 rounding of each S averages out to ~4e-8 here; a plane summed in float is off by ~1.5e-6
    expect(Math.abs(c.value - exact) / exact, 'ssim_value_and_grad<float>').toBeLessThan(2.5e-7);
    expect(Math.abs(c.valueOnly - exact) / exact, 'ssim_value<float>').toBeLessThan(2.5e-7);
  });
});
