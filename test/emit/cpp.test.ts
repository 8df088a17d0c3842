/**
 * The generated C++ (src/generated/cpp, with the hand-written src/cpp it includes) compiled with g++ against libtorch, and compared in C++
 * with libtorch autograd of each family's formula: SSIM, MS-SSIM's cs, Wang's l^alpha c^beta s^gamma and the
 * 3DGS loss (1 - lambda) mean|x - y| + lambda (1 - SSIM)
 * (test/cpp/torch_reference.hpp writes them independently of the header), under every boundary rule: float64 to 1e-12 relative, float32 within the float32 floor
 * (libtorch's own float32 autograd's distance from float64); SsimFunction's and GsLossFunction's double
 * backward (torch::autograd::grad twice, create_graph) against libtorch's second derivatives of the
 * formula to 1e-12, both schedules; a third derivative and CsFunction's and WangFunction's second refused. Without g++ or libtorch this fails
 * with what to install: CI installs both (.ci/run).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, GENERATED_CPP, missingToolchain, ROOT, runJsonLines } from '../support/cpp.js';

describe('generated C++ against libtorch autograd', () => {
  let rows: Array<Record<string, unknown>> = [];
  const row = (name: string): Record<string, number> => {
    const r = rows.find((x) => x.case === name);
    if (r === undefined) throw new Error(`no output for case ${name}`);
    return r as Record<string, number>;
  };

  it('g++ and libtorch are installed (CI: .ci/run installs g++ and libtorch-dev)', () => {
    expect(missingToolchain()).toBeNull();
  });

  beforeAll(() => {
    if (missingToolchain() !== null) return;
    const bin = buildCpp({ main: join(ROOT, 'test/cpp/autograd.cpp'), includes: [GENERATED_CPP, join(ROOT, 'test/cpp')], torch: true });
    rows = runJsonLines(bin);
  }, 600_000);

  // every boundary rule, and a window no kernel is unrolled for (9 taps), for each family
  const rules = ['same-gauss11', 'valid-gauss11', 'reflect-box7-skimage', 'mirror-gauss11', 'replicate-gauss11', 'same-gauss9'];
  const cases = ['', 'cs-', 'wang-', 'gs-'].flatMap((family) => rules.map((r) => `${family}${r}`));

  it.each(cases)('%s: float64 value and d/dx, d/dy equal libtorch autograd to 1e-12 relative', (name) => {
    const r = row(name);
    // the map's mean (Wang's exponents 1.5, 0.75, 2 lower it); the 3DGS loss (lambda 0.3): 0.7 L1 + 0.3 (1 - SSIM), L1 about 0.08
    if (name.startsWith('gs-')) {
      expect(r.ssim).toBeGreaterThan(0.05);
      expect(r.ssim).toBeLessThan(0.3);
    } else expect(r.ssim).toBeGreaterThan(0.5);
    for (const k of ['value64', 'valueOnly64', 'gradX64', 'gradY64', 'gradXOnly64']) expect(r[k], k).toBeLessThan(1e-12);
  });

  it.each(cases)('%s: float32 kernels are within the float32 floor of libtorch float32 autograd', (name) => {
    const r = row(name);
    // the floor: how far libtorch's own float32 autograd lands from float64 (about 1e-6 relative)
    expect(r.torchGradX32).toBeGreaterThan(1e-8);
    expect(r.gradX32).toBeLessThan(2 * r.torchGradX32!);
    expect(r.gradY32).toBeLessThan(2 * r.torchGradY32!);
    expect(r.value32).toBeLessThan(1e-6);
  });

  it('SsimFunction (the binding) inside a larger graph: float64 to 1e-12, float32 within the floor, grads keep the dtype', () => {
    const f64 = row('binding-f64');
    expect(f64.value).toBeLessThan(1e-12);
    expect(f64.gradX).toBeLessThan(1e-12);
    expect(f64.gradY).toBeLessThan(1e-12);
    expect(rows.find((x) => x.case === 'binding-f64')!.dtype).toBe('Double');
    const f32 = row('binding-f32');
    expect(rows.find((x) => x.case === 'binding-f32')!.dtype).toBe('Float');
    expect(f32.gradX).toBeLessThan(2 * f32.torchGradX32!);
    expect(f32.gradY).toBeLessThan(1e-5);
  });

  it.each(['cs', 'wang'])('%s: its Function (CsFunction, WangFunction with exponents) inside a larger graph equals libtorch autograd to 1e-12', (family) => {
    const r = row(`binding-${family}`);
    for (const k of ['value', 'gradX', 'gradY']) expect(r[k], k).toBeLessThan(1e-12);
  });

  it.each(['default', '0.35'])('GsLossFunction (lambda %s; gs_loss() defaults to the variant\'s 0.2) inside a larger graph equals the loss in plain libtorch ops to 1e-12', (lambda) => {
    const r = row(`binding-gsLoss-${lambda}`);
    expect(r.loss).toBeGreaterThan(0.01);
    for (const k of ['value', 'gradX', 'gradY']) expect(r[k], k).toBeLessThan(1e-12);
  });

  it.each(['ssim', 'cs', 'gsLoss', 'wang'])('%s: the recompute schedule gives the store schedule\'s value and gradients bit for bit and keeps nothing beyond x and y', (family) => {
    const r = row(`schedules-${family}`);
    expect(r.valueDiff).toBe(0);
    expect(r.gradDiff).toBe(0);
    // store keeps d/dx and d/dy (two float64 images); recompute only x and y themselves
    expect(r.keptStore).toBe(2 * r.imageBytes!);
    expect(r.keptRecompute).toBe(0);
  });

  it.each(['store', 'store-x', 'recompute', 'recompute-x'])('double backward (%s): torch::autograd::grad twice with create_graph through SsimFunction equals libtorch autograd of the formula to 1e-12, float64', (name) => {
    const r = row(`double-backward-${name}`);
    expect(r.hvpScale).toBeGreaterThan(1e-4);
    for (const k of ['gradX', 'gradY', 'hvpX', 'hvpY']) expect(r[k], k).toBeLessThan(1e-12);
  });

  it.each(['store', 'store-x', 'recompute', 'recompute-x', 'ties'])(
    'double backward (%s): torch::autograd::grad twice with create_graph through GsLossFunction (lambda 0.35) equals libtorch autograd of the 3DGS loss to 1e-12, float64',
    (name) => {
      const r = row(`double-backward-gsLoss-${name}`);
      expect(r.hvpScale).toBeGreaterThan(1e-4);
      // |x - y| kept from 0, or ties (x = y) at every 7th pixel, where both take d|u|/du = sign(0) = 0
      if (name === 'ties') expect(r.minAbsDiff).toBe(0);
      else expect(r.minAbsDiff).toBeGreaterThanOrEqual(0.05);
      for (const k of ['gradX', 'gradY', 'hvpX', 'hvpY']) expect(r[k], k).toBeLessThan(1e-12);
    },
  );

  it('a third derivative through SsimFunction and GsLossFunction, and a second through CsFunction and WangFunction (no HVP kernels), are refused with the reason', () => {
    const r = rows.find((x) => x.case === 'higher-order')!;
    expect(r.third).toMatch(/^SsimFunction: third derivatives .* are not supported/);
    expect(r.gsThird).toMatch(/^GsLossFunction: third derivatives .* are not supported/);
    expect(r.csSecond).toMatch(/^CsFunction: second derivatives .* are not supported/);
    expect(r.wangSecond).toMatch(/^WangFunction: second derivatives .* are not supported/);
  });

  it('SsimFunction without inputs requiring grad computes the value only', () => {
    const r = rows.find((x) => x.case === 'no-grad')!;
    expect(r.requiresGrad).toBe(false);
    expect(r.value as number).toBeLessThan(1e-12);
  });
});
