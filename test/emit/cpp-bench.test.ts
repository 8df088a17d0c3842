/**
 * The C++ bench (bench/cpp/bench.cpp) measures three implementations of the same thing: on a small
 * input, its libtorch conv2d and separable rows give the generated kernel's value and gradient
 * (float64 to 1e-12, float32 within 1e-5), so the bench rows compare like with like.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCpp, ROOT, runJsonLines } from '../support/cpp.js';

describe('bench/cpp/bench.cpp', () => {
  it('its three implementations agree (quick mode, 1x3x64x64), timings are positive', () => {
    const bin = buildCpp({ main: join(ROOT, 'bench/cpp/bench.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: true });
    const rows = runJsonLines(bin, ['1', '1', 'quick']);
    const timings = rows.filter((r) => 'impl' in r) as Array<Record<string, number | string>>;
    expect(timings.map((r) => `${r.dtype} ${r.impl}`).sort()).toEqual(
      ['float32 conv2d', 'float32 generated', 'float32 separable', 'float64 conv2d', 'float64 generated', 'float64 separable'],
    );
    for (const dtype of ['float32', 'float64']) {
      const of = (impl: string): Record<string, number> => timings.find((r) => r.dtype === dtype && r.impl === impl) as Record<string, number>;
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      for (const impl of ['conv2d', 'separable']) {
        expect(of(impl).gradRel, `${dtype} ${impl}`).toBeLessThan(tol);
        expect(Math.abs(of(impl).value! - of('generated').value!), `${dtype} ${impl} value`).toBeLessThan(dtype === 'float64' ? 1e-12 : 1e-6);
      }
      for (const impl of ['generated', 'conv2d', 'separable']) expect(of(impl).medianMs).toBeGreaterThan(0);
    }
    expect(rows.find((r) => 'threads' in r)!.threads).toBe(1);
  }, 600_000);

  it('its schedule rows (1x3x40x56): store keeps two float32 images beyond x and y, recompute none, the same gradient', () => {
    const bin = buildCpp({ main: join(ROOT, 'bench/cpp/bench.cpp'), includes: [join(ROOT, 'src/generated/cpp')], torch: true });
    const rows = runJsonLines(bin, ['schedules', '1', '40', '56']).filter((r) => 'schedule' in r) as Array<Record<string, number | string>>;
    expect(rows.map((r) => `${r.family} ${r.schedule}`)).toEqual(['ssim store', 'ssim recompute', 'gsLoss store', 'gsLoss recompute']);
    for (const r of rows) {
      expect(r.imageBytes).toBe(3 * 40 * 56 * 4);
      expect(r.keptBytes, `${r.family} ${r.schedule}`).toBe(r.schedule === 'store' ? 2 * (r.imageBytes as number) : 0);
      expect(r.medianMs).toBeGreaterThan(0);
    }
    for (const family of ['ssim', 'gsLoss']) {
      const [a, b] = rows.filter((r) => r.family === family);
      expect(a!.gradSum).toBe(b!.gradSum);
      expect(a!.gradSum).not.toBe(0);
    }
  }, 600_000);
});
