/**
 * check --jvp and check --hvp in the library (src/check/forward-check.ts): PyTorch's float32 JVP
 * and HVP are right beyond rounding, and every diagnosis names a mistaken candidate built here
 * independently: by PyTorch (scripts/make_jvp_check_fixtures.py) or by the plain-loop SSIM JVP
 * below (its windowed means, the tangents of the moments and the tangent of S written out, no
 * graph), never by the mistake library under test.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHvp, checkJvp, jvpFloor } from '../../src/check/forward-check.js';
import { FLOOR_ALLOWANCE } from '../../src/check/floor.js';
import { ssimGradXFloat32Arith } from '../../src/runtime/index.js';
import { readTensor } from '../../src/io/index.js';
import { ssimHvp } from '../../src/runtime/jvp.js';
import type { Tensor } from '../../src/field/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'jvp-check');
const load = (name: string): Tensor & { dtype: string } => readTensor(join(FIX, `${name}.npy`));

describe('PyTorch float32 fixtures (pytorch-ssim, 1 x 3 x 16 x 20)', () => {
  const [x, y, dx, dy, v] = [load('x'), load('y'), load('dx'), load('dy'), load('v')];
  const options = { preset: 'pytorch-ssim' as const };
  const scalar = (name: string): number => {
    const t = load(name);
    expect(t.dtype).toBe('float32');
    expect(t.data.length).toBe(1);
    return t.data[0]!;
  };

  it("torch.autograd.functional.jvp in float32 is a MATCH, within a few floors", () => {
    const r = checkJvp({ x, y, options, dx, dy, candidate: scalar('jvp-torch32'), float32: true });
    expect(r.report.verdict).toBe('match');
    expect(r.report.errorOverFloor.l2).toBeLessThan(4);
    expect(r.report.diagnosis[0]!.kind).toBe('rounding');
  });

  it('its JVP along dx alone is a MATCH without dy, and "dy ignored" with it', () => {
    const c = scalar('jvp-torch32-dx');
    expect(checkJvp({ x, y, options, dx, dy: null, candidate: c, float32: true }).report.verdict).toBe('match');
    const r = checkJvp({ x, y, options, dx, dy, candidate: c, float32: true });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('dy-ignored');
  });

  it("PyTorch's per-pixel chain rule JVP is a MISMATCH naming the per-pixel chain rule", () => {
    const r = checkJvp({ x, y, options, dx, dy, candidate: scalar('jvp-per-pixel32'), float32: true });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('per-pixel-chain-rule');
    expect(r.report.diagnosis[0]!.message).toMatch(/^per-pixel chain rule: the window missing from the tangent/);
  });

  it('torch.autograd.functional.hvp in float32 is a MATCH', () => {
    const c = load('hvp-torch32');
    const r = checkHvp({ x, y, options, wrt: 'x', v, candidate: c.data, float32: true });
    expect(r.report.verdict).toBe('match');
    expect(r.report.errorOverFloor.l2).toBeLessThan(8);
  });

  it("PyTorch's HVP over detached partial maps is a MISMATCH naming the map's second partials dropped", () => {
    const r = checkHvp({ x, y, options, wrt: 'x', v, candidate: load('hvp-gn32').data, float32: true });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('map-second-partials-dropped');
  });
});

// ---- an independent SSIM JVP: plain loops over one 11-tap Gaussian, sigma 1.5 ---------------------

const TAPS = (() => {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
})();

type Pad = 'zero' | 'mirror';

/** The windowed mean of each H x W plane of f (separable), zero padding or torch's 'reflect' (whole-sample mirror). */
function windowed(f: ArrayLike<number>, planes: number, H: number, W: number, pad: Pad): Float64Array {
  const at = (i: number, n: number): number => (i >= 0 && i < n ? i : pad === 'zero' ? -1 : i < 0 ? -i : 2 * (n - 1) - i);
  const rows = new Float64Array(planes * H * W);
  const out = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let k = 0; k < 11; k++) {
          const jj = at(j + k - 5, W);
          if (jj >= 0) s += TAPS[k]! * f[(p * H + i) * W + jj]!;
        }
        rows[(p * H + i) * W + j] = s;
      }
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let k = 0; k < 11; k++) {
          const ii = at(i + k - 5, H);
          if (ii >= 0) s += TAPS[k]! * rows[(p * H + ii) * W + j]!;
        }
        out[(p * H + i) * W + j] = s;
      }
    }
  }
  return out;
}

const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

interface Jvp {
  value: number;
  jvp: number;
  /** omega dS/dm_xx per map pixel (= -omega S / B2), for the HVP below. */
  gxx: Float64Array;
}

/**
 * SSIM (pytorch-ssim's formula, mean of the map) and its JVP in the direction (dx, dy): the moments
 * windowed with `pad`, their tangents by `tangent` (the exact: the same window over the products'
 * tangents), S's tangent by the quotient rule.
 */
function ssimJvpLoops(x: Tensor, y: Tensor, dx: ArrayLike<number>, dy: ArrayLike<number>, pad: Pad, tangent?: (f: Float64Array) => Float64Array): Jvp {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const P = N * C;
  const n = P * H * W;
  const Wf = (f: ArrayLike<number>): Float64Array => windowed(f, P, H, W, pad);
  const T = tangent ?? Wf;
  const X = x.data;
  const Y = y.data;
  const prod = (f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i));
  const mx = Wf(X);
  const my = Wf(Y);
  const mxx = Wf(prod((i) => X[i]! * X[i]!));
  const myy = Wf(prod((i) => Y[i]! * Y[i]!));
  const mxy = Wf(prod((i) => X[i]! * Y[i]!));
  const tmx = T(Float64Array.from(dx));
  const tmy = T(Float64Array.from(dy));
  const tmxx = T(prod((i) => 2 * X[i]! * dx[i]!));
  const tmyy = T(prod((i) => 2 * Y[i]! * dy[i]!));
  const tmxy = T(prod((i) => Y[i]! * dx[i]! + X[i]! * dy[i]!));
  let value = 0;
  let jvp = 0;
  const gxx = new Float64Array(n);
  for (let q = 0; q < n; q++) {
    const vx = mxx[q]! - mx[q]! ** 2;
    const vy = myy[q]! - my[q]! ** 2;
    const cov = mxy[q]! - mx[q]! * my[q]!;
    const A1 = 2 * mx[q]! * my[q]! + C1;
    const A2 = 2 * cov + C2;
    const B1 = mx[q]! ** 2 + my[q]! ** 2 + C1;
    const B2 = vx + vy + C2;
    const S = (A1 * A2) / (B1 * B2);
    const dA1 = 2 * (tmx[q]! * my[q]! + mx[q]! * tmy[q]!);
    const dA2 = 2 * (tmxy[q]! - tmx[q]! * my[q]! - mx[q]! * tmy[q]!);
    const dB1 = 2 * (mx[q]! * tmx[q]! + my[q]! * tmy[q]!);
    const dB2 = tmxx[q]! - 2 * mx[q]! * tmx[q]! + tmyy[q]! - 2 * my[q]! * tmy[q]!;
    value += S / n;
    jvp += (S * (dA1 / A1 + dA2 / A2 - dB1 / B1 - dB2 / B2)) / n;
    gxx[q] = -S / B2 / n;
  }
  return { value, jvp, gxx };
}

/** Images with the fixture's style: x in [0, 1], y near it, directions towards y and at random (a seeded LCG). */
function inputs(shape: [number, number, number, number], seed: number) {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: n }, rnd);
  const y = x.map((v) => Math.min(1, Math.max(0, v + 0.3 * (rnd() - 0.5))));
  const dx = x.map((v, i) => (y[i]! - v) * (0.5 + rnd()));
  const dy = x.map(() => 2 * rnd() - 1);
  const t = (data: Float64Array): Tensor => ({ shape, data });
  return { x: t(x), y: t(y), dx: t(dx), dy: t(dy) };
}

describe('JVP candidates built by plain loops', () => {
  const { x, y, dx, dy } = inputs([1, 2, 14, 17], 7);
  const same = { preset: 'pytorch-ssim' as const };
  const exact = ssimJvpLoops(x, y, dx.data, dy.data, 'zero');

  it('the loops agree with ssim-grad (a MATCH, float64 candidate) and their float32 rounding is a MATCH', () => {
    const r = checkJvp({ x, y, options: same, dx, dy, candidate: exact.jvp });
    expect(r.report.verdict).toBe('match');
    expect(r.report.candidateIsFloat32).toBe(false);
    expect(r.report.errorOverFloor.l2).toBeLessThan(0.01);
    expect(checkJvp({ x, y, options: same, dx, dy, candidate: Math.fround(exact.jvp) }).report.verdict).toBe('match');
  });

  it('scaled by 1 + 1e-4 it is a MISMATCH that names no mistake', () => {
    const r = checkJvp({ x, y, options: same, dx, dy, candidate: exact.jvp * (1 + 1e-4) });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named).toBeNull();
    expect(r.report.diagnosis[0]!.kind).toBe('unexplained');
  });

  it('the tangents taken per pixel, (W 1) times the pixel\'s own: per-pixel-chain-rule', () => {
    const P = 2;
    const ones = windowed(new Float64Array(x.data.length).fill(1), P, 14, 17, 'zero');
    const perPixel = ssimJvpLoops(x, y, dx.data, dy.data, 'zero', (f) => f.map((v, i) => v * ones[i]!));
    const r = checkJvp({ x, y, options: same, dx, dy, candidate: perPixel.jvp });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('per-pixel-chain-rule');
  });

  it("torch 'reflect' values with zero-padded tangents (a conv's default reused): boundary-transpose-same, the window's boundary twin", () => {
    const mirror = { preset: 'pytorch-ssim' as const, padding: 'mirror' as const };
    const right = ssimJvpLoops(x, y, dx.data, dy.data, 'mirror');
    expect(checkJvp({ x, y, options: mirror, dx, dy, candidate: right.jvp }).report.verdict).toBe('match');
    const wrong = ssimJvpLoops(x, y, dx.data, dy.data, 'mirror', (f) => windowed(f, 2, 14, 17, 'zero'));
    const r = checkJvp({ x, y, options: mirror, dx, dy, candidate: wrong.jvp });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('boundary-transpose-same');
    expect(r.report.diagnosis[0]!.message).toMatch(/tangents windowed under same padding/);
  });

  it('dy given and left out: dy-ignored', () => {
    const noDy = ssimJvpLoops(x, y, dx.data, new Float64Array(dy.data.length), 'zero');
    const r = checkJvp({ x, y, options: same, dx, dy, candidate: noDy.jvp });
    expect(r.named?.kind).toBe('dy-ignored');
    // without dy the same number is the exact JVP
    expect(checkJvp({ x, y, options: same, dx, dy: null, candidate: noDy.jvp }).report.verdict).toBe('match');
  });
});

describe('HVP candidates', () => {
  const { x, y, dx: v } = inputs([1, 2, 13, 15], 11);
  const options = { preset: 'pytorch-ssim' as const };
  // the exact HVP is the library's (test/runtime checks it against PyTorch float64); the mistakes are built here
  const exact = ssimHvp(x, y, v, { ...options, wrt: 'x' }).hvpX!;
  // 2 v W^T g_xx, g_xx = omega dS/dm_xx: W^T is W for zero padding and a symmetric window
  const { gxx } = ssimJvpLoops(x, y, v.data, new Float64Array(v.data.length), 'zero');
  const curvatureFree = windowed(gxx, 2, 13, 15, 'zero').map((g, i) => 2 * v.data[i]! * g);

  it('the exact HVP and its float32 rounding are a MATCH; scaled by 1 + 1e-4 a MISMATCH', () => {
    expect(checkHvp({ x, y, options, wrt: 'x', v, candidate: exact }).report.verdict).toBe('match');
    expect(checkHvp({ x, y, options, wrt: 'x', v, candidate: exact.map(Math.fround) }).report.verdict).toBe('match');
    const r = checkHvp({ x, y, options, wrt: 'x', v, candidate: exact.map((h) => h * (1 + 1e-4)) });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.report.diagnosis.find((d) => d.kind === 'scale')!.message).toMatch(/1\.00010 x the exact HVP/);
  });

  it("2 v W^T g_xx alone (S's partials held constant): map-second-partials-dropped", () => {
    const r = checkHvp({ x, y, options, wrt: 'x', v, candidate: curvatureFree });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('map-second-partials-dropped');
  });

  it('the HVP less 2 v W^T g_xx (d(x^2)/dx = 2x taken as a constant): square-second-derivative-dropped', () => {
    const r = checkHvp({ x, y, options, wrt: 'x', v, candidate: exact.map((h, i) => h - curvatureFree[i]!) });
    expect(r.report.verdict).toBe('mismatch');
    expect(r.named?.kind).toBe('square-second-derivative-dropped');
  });
});

describe("a JVP's floor", () => {
  it('holds a correct float32 JVP computed another way (the float32 gradient dotted with dx in float32) in every one of 48 directions', () => {
    const { x, y } = inputs([1, 1, 12, 13], 5);
    const options = { preset: 'pytorch-ssim' as const };
    // reverse mode in float32 arithmetic, then the inner product accumulated in float32: right, but rounded differently from forward mode
    const g32 = ssimGradXFloat32Arith(x, y, options).gradX;
    let s = 99;
    const rnd = (): number => (s = (s * 48271) % 2147483647) / 2147483647;
    let worst = 0;
    for (let k = 0; k < 48; k++) {
      const dx: Tensor = { shape: x.shape, data: Float64Array.from(x.data, () => Math.fround(2 * rnd() - 1)) };
      const exact = ssimJvpLoops(x, y, dx.data, new Float64Array(dx.data.length), 'zero').jvp;
      let c = 0;
      for (let i = 0; i < dx.data.length; i++) c = Math.fround(c + Math.fround(g32[i]! * dx.data[i]!));
      const floor = jvpFloor(x, y, options, dx, null, exact);
      worst = Math.max(worst, Math.abs(c - exact) / floor.l2);
    }
    // the measured difference alone is, by chance, far below this candidate's error in some directions
    expect(worst).toBeLessThan(FLOOR_ALLOWANCE / 4);
  });
});
