/**
 * The seed question end to end in C++: its libtorch code, verbatim (test/cpp/seed.cpp), compiled
 * with g++ against libtorch and run on a 3 x 32 x 32 float32 pair; the gradient it writes as .npy
 * goes to `ssim-grad check`, which must call it a mismatch and name the per-pixel chain rule
 * (times C: the seed divides by H x W for its C x H x W image), while libtorch autograd's own
 * gradient from the same run is a match.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { buildCpp, ROOT, runJsonLines } from '../support/cpp.js';

describe("the seed's libtorch code, run in C++, checked by ssim-grad check", () => {
  it('its gradient is the per-pixel chain rule (MISMATCH, exit 1); libtorch autograd from the same run is a MATCH', () => {
    const bin = buildCpp({ main: join(ROOT, 'test/cpp/seed.cpp'), includes: [], torch: true });
    const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-seed-cpp-'));
    const [run] = runJsonLines(bin, [dir]);
    expect(run!.shape).toEqual([3, 32, 32]);
    const f = (n: string): string => join(dir, n);
    const seed = cli(['check', f('seed_grad.npy'), f('x.npy'), f('y.npy'), '--preset', 'pytorch-ssim', '--json']);
    expect(seed.status, seed.stderr).toBe(1);
    const r = JSON.parse(seed.stdout);
    expect(r.verdict).toBe('mismatch');
    expect(r.diagnosis[0].kind).toBe('per-pixel-chain-rule');
    expect(r.mistakes[0].kind).toBe('per-pixel-chain-rule');
    expect(r.mistakes[0].matched).toBe('scaled');
    expect(r.mistakes[0].scaled.k).toBeCloseTo(3, 3);
    // the checker's SSIM of the written images is the seed's loss (float32 in the C++ run)
    expect(Math.abs(r.ssim - (run!.loss as number))).toBeLessThan(1e-6);
    const text = cli(['check', f('seed_grad.npy'), f('x.npy'), f('y.npy')]);
    expect(text.stdout).toMatch(/^verdict: MISMATCH/m);
    expect(text.stdout).toMatch(/per-pixel chain rule: the window's transpose is missing/);
    const autograd = cli(['check', f('autograd_grad.npy'), f('x.npy'), f('y.npy'), '--json']);
    expect(autograd.status, autograd.stdout).toBe(0);
    expect(JSON.parse(autograd.stdout).verdict).toBe('match');
  }, 600_000);
});
