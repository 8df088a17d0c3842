/**
 * The README's WebGPU example, end to end: `ssim-grad emit wgsl --variant 3dgs-loss` writes the
 * files, a page (chromium, WebGPU on SwiftShader) takes a program's layout from the JSON and its
 * code from the .wgsl beside it, runs it with src/kernel/webgpu.ts (bundled) on the host
 * parameters the JSON gives, and gets the fused loss and both gradients that the float64 runtime
 * (evaluateVariant) computes, to float32's accuracy; both schedules, store and recompute.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateVariant } from '../../src/runtime/index.js';
import type { PrintedWgsl, WgslLayout } from '../../src/kernel/webgpu.js';
import { closeBrowser, runInPage, webgpuBrowserAvailable, webgpuPage } from '../support/browser.js';
import { cli } from '../support/cli.js';

const available = webgpuBrowserAvailable('test/cli/emit-wgsl-page.test.ts');
const N = 1, C = 3, H = 19, W = 23;

function images(): { x: Float64Array; y: Float64Array } {
  let s = 12345;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  // float32 values, so that the page and the float64 runtime see the same inputs
  const x = Float64Array.from({ length: N * C * H * W }, () => Math.fround(rand()));
  const y = x.map((v) => Math.fround(Math.min(1, Math.max(0, v + 0.3 * (rand() - 0.5)))));
  return { x, y };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.skipIf(!available)('the README WebGPU example: emit wgsl, then run the files in a page', () => {
  let page: Page;
  beforeAll(async () => {
    page = await webgpuPage();
  });
  afterAll(async () => {
    await closeBrowser();
  });

  it('3dgs-loss (pytorch-ssim, reflect): value, d/dx and d/dy of both schedules equal the float64 runtime to float32 accuracy', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ssim-grad-web-')), 'web');
    const r = cli(['emit', 'wgsl', '--variant', '3dgs-loss', '--preset', 'pytorch-ssim', '--padding', 'reflect', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'gs-loss.json'), 'utf8')) as {
      programs: WgslLayout[];
      parameters: { taps: number[]; C1: number; C2: number; c_n: number; crop: number; lambda: number; boundary: string };
    };
    const p = json.parameters;
    expect(p.boundary).toBe('reflect');
    const load = (name: string): PrintedWgsl => ({ code: readFileSync(join(out, `${name}.wgsl`), 'utf8'), layout: json.programs.find((l) => l.program === name)!, funcs: [] });
    const { x, y } = images();
    const k = p.taps.length;
    const MH = H, MW = W; // the geometry the JSON states for a padding rule: MH = H, MW = W
    const weight = Array.from({ length: N * C }, () => 1 / (N * C * (MH - 2 * p.crop) * (MW - 2 * p.crop)));
    const args = { NC: N * C, H, W, MH, MW, kh: k, kw: k, crop: p.crop, C1: p.C1, C2: p.C2, c_n: p.c_n, lambda: p.lambda, x: Array.from(x), y: Array.from(y), tapsH: p.taps, tapsW: p.taps, weight };
    const cases = (['store', 'recompute'] as const).flatMap((s) => [
      { printed: load(`gs-loss_forward_reflect_${s}`), args },
      { printed: load(`gs-loss_backward_reflect_${s}`), args },
    ]);
    // the store schedule's backward reads the partial maps its forward wrote
    const [fs] = await runInPage(page, [cases[0]!]);
    expect(fs!.ok, fs!.ok ? '' : fs!.error).toBe(true);
    if (!fs!.ok) return;
    const stored = Object.fromEntries(['g_mu_x', 'g_xx', 'g_xy', 'g_mu_y', 'g_yy'].map((g) => [g, fs!.buffers[g]!]));
    const [bs, fr, br] = await runInPage(page, [{ ...cases[1]!, args: { ...args, ...stored } }, cases[2]!, cases[3]!]);

    const ref = evaluateVariant({ shape: [N, C, H, W], data: x }, { shape: [N, C, H, W], data: y }, { variant: '3dgs-loss', preset: 'pytorch-ssim', padding: 'reflect' });
    const scale = Math.max(...ref.gradX.map(Math.abs));
    for (const [name, fwd, bwd] of [['store', fs!, bs!], ['recompute', fr!, br!]] as const) {
      expect(fwd.ok && bwd.ok, `${name}: ${fwd.ok ? '' : fwd.error} ${bwd.ok ? '' : bwd.error}`).toBe(true);
      if (!fwd.ok || !bwd.ok) continue;
      expect(Math.abs(fwd.buffers.value![0]! - ref.value), `${name} value`).toBeLessThan(2e-6);
      expect(maxAbs(bwd.buffers.gradX!, ref.gradX) / scale, `${name} d/dx`).toBeLessThan(1e-4);
      expect(maxAbs(bwd.buffers.gradY!, ref.gradY) / scale, `${name} d/dy`).toBeLessThan(1e-4);
      // d/dy is its own: not d/dx with the sign turned
      expect(maxAbs(bwd.buffers.gradY!, ref.gradX.map((v) => -v)) / scale).toBeGreaterThan(1e-2);
    }
  }, 120_000);
});
