/**
 * Bounded work on absurd options (issue 17): each is exit 2 within a few seconds, with one stderr
 * line naming the flag, before anything is allocated from it (a window of 1e9 taps, a derivation
 * with 10^8 terms, a formula of 5000 terms).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { formatNpy } from '../../src/io/index.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string; ms: number }> {
  let stdout = '';
  let stderr = '';
  const t = Date.now();
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr, ms: Date.now() - t };
}

const x = EXAMPLE_X;
const y = EXAMPLE_Y;
const sum = (n: number): string => Array.from({ length: n }, () => 'mu_x').join(' + ');

describe('absurd options: exit 2, one line naming the flag, in seconds', () => {
  it.each<[string, string[], RegExp]>([
    ['a window of 1e9 taps', ['value', x, y, '--size', '999999999'], /^ssim-grad value: size \(--size\): got 999999999, expected an odd integer from 1 to 255$/],
    ['grad, the same', ['grad', x, y, '--size', '999999999', '--out', '/nonexistent/g.npy'], /^ssim-grad grad: size \(--size\): got 999999999/],
    ['check, the same', ['check', x, x, y, '--size', '999999999'], /^ssim-grad check: size \(--size\): got 999999999/],
    ['emit cpp, the same', ['emit', 'cpp', '--size', '999999999', '--out', '/nonexistent/cpp'], /^ssim-grad emit: size \(--size\): got 999999999/],
    ['derive --size 10001', ['derive', '--size', '10001'], /^ssim-grad derive: size \(--size\): got 10001, expected an odd integer from 1 to 255$/],
    ['derive --size 101 (its window sums have size^2 terms)', ['derive', '--size', '101'], /^ssim-grad derive: size \(--size\): a window of 101 taps, expected at most 51 for a derivation/],
    ['--gaussian --sigma 1e9 under skimage', ['value', x, y, '--preset', 'skimage', '--gaussian', '--sigma', '1e9', '--data-range', '1'], /^ssim-grad value: sigma \(--sigma\): .* 7\.00e\+9 taps, expected at most 255/],
    ['--gaussian --sigma 1e9 --truncate 3.5', ['value', x, y, '--gaussian', '--sigma', '1e9', '--truncate', '3.5'], /^ssim-grad value: sigma and truncate \(--sigma, --truncate\): .*expected at most 255/],
    ['--truncate 1e12', ['value', x, y, '--truncate', '1e12'], /^ssim-grad value: truncate \(--truncate\): .*3\.00e\+12 taps, expected at most 255/],
    ['derive --gaussian --sigma 1e9 --truncate 4', ['derive', '--gaussian', '--sigma', '1e9', '--truncate', '4'], /^ssim-grad derive: sigma and truncate \(--sigma, --truncate\)/],
    ['trace --truncate 1e12', ['trace', x, y, '--pixel', '0,0,0', '--truncate', '1e12'], /^ssim-grad trace: truncate \(--truncate\)/],
    ['--downsample 1e12', ['value', x, y, '--downsample', '1e12'], /^ssim-grad value: downsample \(--downsample\): got 1000000000000, expected 'auto' or an integer >= 1, at most 65536$/],
    ['--k1 1e100 --k2 1e100', ['value', x, y, '--k1', '1e100', '--k2', '1e100'], /^ssim-grad value: k1 \(--k1\): got 1e\+100, .*overflow float64/],
    ['--data-range 1e300', ['grad', x, y, '--data-range', '1e300', '--out', '/nonexistent/g.npy'], /^ssim-grad grad: dataRange \(--data-range\): the data range L \(--data-range\) reaches 1\.00e\+300 in magnitude/],
    ['derive --crop 1e9', ['derive', '--crop', '1000000000'], /^ssim-grad derive: crop \(--crop\): got 1000000000, expected at most 51 for a derivation/],
    ['check-formula with a huge power is a verdict, not an internal error', ['check-formula', 'mu_x^1e308', '--wrt', 'mu_x'], /^$/],
    ['check-formula with a 5000-term sum', ['check-formula', sum(5000), '--wrt', 'mu_x'], /^ssim-grad check-formula: EXPR: 3\d{4} characters, expected at most 4000/],
    ['check-formula nested 600 deep', ['check-formula', `C1 + ${'-'.repeat(600)}mu_x`, '--wrt', 'mu_x'], /^ssim-grad check-formula: EXPR: nested 500\+ levels deep/],
    ['check-formula --runs 1e12', ['check-formula', 'mu_x', '--wrt', 'mu_x', '--runs', '1e12'], /^ssim-grad check-formula: --runs: got 1000000000000, expected an integer from 1 to 100000$/],
    ['check-formula --sample-covariance --size 1e200', ['check-formula', 'mu_x', '--wrt', 'mu_x', '--sample-covariance', '--size', '1e200'], /^ssim-grad check-formula: --size: NP = size\^2 = Infinity, expected a window of 2 to 255/],
    ['check-formula with brackets 300 deep', ['check-formula', `${'('.repeat(300)}mu_x${')'.repeat(300)}`, '--wrt', 'mu_x'], /^ssim-grad check-formula: EXPR: brackets nested 300 deep, expected at most 100$/],
  ])('%s', async (_, args, message) => {
    const r = await run(args);
    // the huge power: a claim whose value is 0 or Infinity is judged (exit 0 or 1), never exit 3
    if (message.source === '^$') {
      expect([0, 1]).toContain(r.status);
      expect(r.stderr).toBe('');
    } else {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    expect(r.ms).toBeLessThan(5000);
  });

  it('the largest window still runs (value --size 255, derive --size 51); one more is refused', async () => {
    const v = await run(['value', x, y, '--size', '255']);
    expect(v.status).toBe(0);
    expect(Number.isFinite(Number(v.stdout.trim()))).toBe(true);
    expect((await run(['value', x, y, '--size', '257'])).status).toBe(2);
    expect((await run(['derive', '--size', '53'])).status).toBe(2);
    const d = await run(['derive', '--size', '51']);
    expect(d.status).toBe(0);
  });

  it('a claim of 4000 characters is checked in seconds', async () => {
    const claim = sum(570); // 3996 characters, 570 levels: refused for its depth, quickly
    const r = await run(['check-formula', claim, '--wrt', 'mu_x']);
    expect(r.status).toBe(2);
    expect(r.ms).toBeLessThan(5000);
    const fits = await run(['check-formula', sum(400), '--wrt', 'mu_x']);
    expect([0, 1]).toContain(fits.status);
    expect(fits.ms).toBeLessThan(10000);
  });
});

describe("the library's refusal of a result that is not finite names the CLI's files", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-absurd-'));
  const npy = (name: string, fill: (i: number) => number): string => {
    const p = join(dir, name);
    writeFileSync(p, formatNpy({ shape: [16, 16], data: Float64Array.from({ length: 256 }, (_, i) => fill(i)) }));
    return p;
  };
  // values near 1e80: SSIM's products of four pass float64's 1.8e308; the largest, 3e80, is named
  const plain = npy('plain.npy', (i) => 1e80 * (0.5 + 0.4 * Math.sin(0.37 * i)));
  const huge = npy('huge.npy', (i) => (i === 37 ? 3e80 : 1e80 * (0.5 + 0.4 * Math.cos(0.21 * i))));

  it.each([
    ['value', ['value', plain, huge]],
    ['grad --wrt x', ['grad', plain, huge, '--out', join(dir, 'gx.npy')]],
    ['grad --wrt y (computed as d/dx with the images swapped)', ['grad', plain, huge, '--wrt', 'y', '--out', join(dir, 'gy.npy')]],
    ['grad --wrt y, the huge value in X', ['grad', huge, plain, '--wrt', 'y', '--out', join(dir, 'gy2.npy')]],
  ])('%s', async (_, args) => {
    const r = await run(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/huge\.npy \(value at flat index 37\) reaches 3\.00e\+80 in magnitude/);
  });
});
