/**
 * JVPs and HVPs against PyTorch float64 forward mode and second order (torch.autograd.functional
 * jvp and hvp of the published formulas: SSIM under all five presets, the 3DGS loss, pytorch-msssim's
 * MS-SSIM; the script also checks hvp against the vjp of the vjp; scripts/make_jvp_fixtures.py,
 * test/fixtures/jvp/cases.json): value, JVP, the SSIM map's tangent where the case has it, and both
 * images' Hessian rows times (dx, dy) to 1e-9 relative, in float64.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/field/index.js';
import { variantHvp, variantJvp } from '../../src/runtime/jvp.js';
import type { VariantOptions } from '../../src/runtime/variants.js';

interface JvpCase {
  name: string;
  source: string;
  options: VariantOptions;
  shape: number[];
  x: number[];
  y: number[];
  dx: number[];
  dy: number[];
  value: number;
  jvp: number;
  hvpX: number[];
  hvpY: number[];
  mapTangent?: number[];
}

const CASES = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'jvp', 'cases.json'), 'utf8')) as JvpCase[];
const maxAbs = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
};

describe('JVP and HVP against PyTorch float64 (torch.autograd.functional)', () => {
  it('covers SSIM under every preset, the 3DGS loss and MS-SSIM', () => {
    expect(CASES.map((c) => c.name)).toEqual(['pytorch-ssim', 'skimage-box', 'skimage-gaussian', 'tf', 'pytorch-msssim-ssim', '3dgs-loss', 'ms-ssim-pytorch-msssim']);
    expect(CASES.filter((c) => c.mapTangent !== undefined).length).toBeGreaterThan(0);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const t = (a: number[]): Tensor => ({ shape: c.shape, data: Float64Array.from(a) });
    const [x, y, dx, dy] = [t(c.x), t(c.y), t(c.dx), t(c.dy)];
    const j = variantJvp(x, y, dx, dy, { ...c.options, maps: c.mapTangent !== undefined });
    expect(Math.abs(j.value - c.value)).toBeLessThanOrEqual(1e-10 * Math.abs(c.value));
    expect(Math.abs(j.jvp - c.jvp)).toBeLessThanOrEqual(1e-9 * Math.abs(c.jvp));
    if (c.mapTangent !== undefined) {
      const got = j.maps[0]!.tangent;
      expect(got.length).toBe(c.mapTangent.length);
      const err = maxAbs(got.map((u, i) => u - c.mapTangent![i]!));
      expect(err, `map tangent: max abs error ${err}`).toBeLessThanOrEqual(1e-9 * maxAbs(c.mapTangent));
    }
    const h = variantHvp(x, y, { x: dx, y: dy }, { ...c.options, wrt: 'both' });
    for (const [got, want, k] of [[h.hvpX!, c.hvpX, 'x'], [h.hvpY!, c.hvpY, 'y']] as const) {
      const scale = maxAbs(want);
      expect(scale).toBeGreaterThan(0);
      const err = maxAbs(got.map((u, i) => u - want[i]!));
      expect(err, `hvp ${k}: max abs error ${err} against max ${scale}`).toBeLessThanOrEqual(1e-9 * scale);
    }
  });
});
