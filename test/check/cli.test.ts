/**
 * The check, trace and check-formula commands: exit codes, output contracts and every bad input.
 * Most run in-process through main(); a handful spawn the CLI to see real exit codes and streams.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { formatNpy } from '../../src/io/index.js';
import { cli, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';
import { PEER_DIR, peerCase } from '../support/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SEED = join(ROOT, 'examples/seed/gradient.ts');
const CORRECT = join(ROOT, 'examples/seed/correct.ts');

/** Runs main() in-process, capturing both streams. */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-check-'));
const file = (name: string, data: Uint8Array | string): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

describe('ssim-grad check (spawned)', () => {
  it('names the per-pixel chain rule in the seed example, exit 1', () => {
    const r = cli(['check', SEED, EXAMPLE_X, EXAMPLE_Y]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^verdict: MISMATCH/m);
    expect(r.stdout).toMatch(/^ {2}\* per-pixel chain rule: the window's transpose is missing: the candidate equals this mistake to/m);
    expect(r.stdout).toMatch(/correct: d ssim\/dx = W\^T g_mu/);
    // the mistake's explanation and its correct formula sit indented under its bullet, in that order
    expect(r.stdout).toMatch(/^ {2}\* per-pixel chain rule:[^]*?^ {6}why: [^]*?^ {6}correct: /m);
  });

  it('PyTorch float32 autograd (.npy) is a match, exit 0, one JSON object', () => {
    const c = peerCase('pytorch-ssim-float32-autograd');
    const r = cli(['check', join(PEER_DIR, c.gradX!), join(PEER_DIR, c.x), join(PEER_DIR, c.y), '--preset', 'pytorch-ssim', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('match');
    for (const k of ['maxAbsError', 'relError', 'roundingFloor', 'regions', 'scale', 'terms', 'diagnosis', 'allowance']) expect(j).toHaveProperty(k);
    expect(j.allowance.factor).toBe(32);
    expect(j.diagnosis[0].kind).toBe('rounding');
  });

  it('bad input exits 2 with one line on stderr', () => {
    const r = cli(['check', file('throws.mjs', 'export function gradient() { throw new Error("boom"); }'), EXAMPLE_X, EXAMPLE_Y]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/throws\.mjs: gradient\(\) threw: boom/);
  });
});

describe('ssim-grad check (in-process)', () => {
  it('a correct TypeScript module is a match; --json carries the verdict and the floor; --heatmap writes a PNG', async () => {
    const heat = join(dir, 'heat.png');
    const r = await run(['check', CORRECT, EXAMPLE_X, EXAMPLE_Y, '--json', '--heatmap', heat]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('match');
    expect(j.maxAbsError).toBeLessThan(1e-12);
    const png = PNG.sync.read(readFileSync(heat));
    expect(png.width).toBe(j.heatmap.width);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--wrt y checks d ssim/dy: the seed (a d/dx) is then "the gradient with respect to the other image" plus its own mistake', async () => {
    const gx = join(dir, 'gx.npy');
    expect((await run(['grad', EXAMPLE_X, EXAMPLE_Y, '--out', gx])).status).toBe(0);
    const r = await run(['check', gx, EXAMPLE_X, EXAMPLE_Y, '--wrt', 'y', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).diagnosis[0].kind).toBe('other-image');
  });

  const x = EXAMPLE_X;
  const y = EXAMPLE_Y;
  const shape = [3, 48, 64];
  const n = 3 * 48 * 64;
  it.each([
    ['a module that throws', () => [file('throws2.mjs', 'export function gradient() { throw new TypeError("no"); }'), x, y], /throws2\.mjs: gradient\(\) threw: no$/],
    ['a module without gradient', () => [file('none.mjs', 'export const grad = 1;'), x, y], /none\.mjs: exports no function 'gradient'/],
    ['a module returning the wrong shape', () => [file('shape.mjs', `export function gradient() { return { shape: [48, 64], data: new Float64Array(${48 * 64}) }; }`), x, y], /shape\.mjs: gradient\(\): shape \[48, 64\] differs from X's shape \[3, 48, 64\]/],
    ['a module returning no tensor', () => [file('null.mjs', 'export function gradient() { return null; }'), x, y], /null\.mjs: gradient\(\) returned null, expected a tensor/],
    ['a module returning NaN', () => [file('nan.mjs', `export function gradient(x) { const d = new Float64Array(x.data.length); d[5] = NaN; return { shape: x.shape, data: d }; }`), x, y], /nan\.mjs: gradient\(\): value at flat index 5 is NaN/],
    ['a module that does not load', () => [file('syntax.mjs', 'export function gradient( {'), x, y], /syntax\.mjs: cannot load the module/],
    ['a .npy of the wrong shape', () => [file('wrong.npy', formatNpy({ shape: [3, 48, 63], data: new Float64Array(3 * 48 * 63) })), x, y], /wrong\.npy: shape \[3, 48, 63\] differs from X's shape \[3, 48, 64\]/],
    ['a .npy with Inf', () => [file('inf.npy', formatNpy({ shape, data: new Float64Array(n).fill(Infinity) })), x, y], /inf\.npy: value at flat index 0 is Infinity/],
    ['a missing candidate', () => [join(dir, 'missing.ts'), x, y], /missing\.ts: cannot read \(no such file\)/],
    ['a candidate of unknown type', () => [x, x, y], /x\.png: unknown candidate type '\.png'/],
    ['a missing image', () => [SEED, join(dir, 'nope.png'), y], /nope\.png: cannot read/],
    ['two positionals', () => [SEED, x], /expected CAND X Y \(3 arguments\), got 2/],
    ['a bad --wrt', () => [SEED, x, y, '--wrt', 'z'], /--wrt: got 'z'/],
    ['a bad --heatmap', () => [SEED, x, y, '--heatmap', 'h.jpg'], /--heatmap: got 'h\.jpg', expected a file name ending in \.png/],
  ])('%s: exit 2 and the message', async (_, args, message) => {
    const r = await run(['check', ...(args() as string[])]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ssim-grad check: /);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('a --heatmap that cannot be written is exit 2 and leaves nothing', async () => {
    const r = await run(['check', CORRECT, x, y, '--heatmap', join(dir, 'no-such-dir', 'h.png')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/h\.png: cannot write/);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
  });
});

describe('ssim-grad trace', () => {
  it('prints the terms and contributions, which add up (spawned, --json)', () => {
    const r = cli(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,1,2,30', '--candidate', SEED, '--json']);
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout);
    const listed = t.contributions.reduce((s: number, k: { contribution: number }) => s + k.contribution, 0);
    expect(Math.abs(listed + t.rest.sum - t.exact)).toBeLessThan(1e-12 * Math.abs(t.exact));
    expect(t.candidate.mistake.kind).toBe('per-pixel-chain-rule');
  });

  it('the readable form shows the total against the exact value', async () => {
    const r = await run(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '1,20,20']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}total +\S+ +\(exact \S+; relative difference/m);
    expect(r.stdout).toMatch(/^exact d ssim\/dx\(p\) = /m);
  });

  it.each([
    [['--pixel', '0,1'], /^ssim-grad trace: --pixel: got '0,1', expected non-negative integers n,c,i,j or c,i,j/],
    [['--pixel', '0,3,0,0'], /^ssim-grad trace: --pixel: c = 3 is out of range, expected 0 to 2/],
    [['--pixel', '0,0,48,0'], /^ssim-grad trace: --pixel: i = 48 is out of range/],
    [[], /^ssim-grad trace: --pixel: required/],
    [['--pixel', '0,0,0,0', '--top', '0'], /^ssim-grad trace: --top: got '0'/],
  ])('bad %j: exit 2 naming the option', async (extra, message) => {
    const r = await run(['trace', EXAMPLE_X, EXAMPLE_Y, ...extra]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
  });
});

describe('ssim-grad check-formula', () => {
  it("the seed's partial as the raw one fails with a counterexample, exit 1 (spawned)", () => {
    const r = cli(['check-formula', '2*(mu_y - mu_x*l)/B1*cs', '--wrt', 'mu_x']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^WRONG: a counterexample/m);
    expect(r.stdout).toMatch(/^ {2}claimed {2}-?\d/m);
    expect(r.stdout).toMatch(/^ {2}symbolic -?\d/m);
  });

  it('a right partial: exit 0', async () => {
    const r = await run(['check-formula', '-S/B2', '--wrt', 'var_x']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^RIGHT/m);
    const j = await run(['check-formula', '2*l/B2', '--wrt', 'm_xy', '--json']);
    expect(JSON.parse(j.stdout).ok).toBe(true);
  });

  it.each([
    [['mu_x ? 1 : 0', '--wrt', 'mu_x'], /EXPR: unsupported construct ConditionalNode/],
    [['mu_x'], /--wrt: required/],
    [['mu_x', 'mu_y', '--wrt', 'mu_x'], /expected one expression in quotes, got 2/],
    [['mu_x', '--wrt', 'mu_x', '--params', 'both'], /--params: got 'both'/],
  ])('bad %j: exit 2', async (args, message) => {
    const r = await run(['check-formula', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
  });
});
