/**
 * Input messages (issue 10): an option given twice, a bad rank named by its own file, a truncated
 * PNG, and overflow named by its magnitude. Each is exit 2 with one line naming the argument.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { formatNpy, parsePng } from '../../src/io/index.js';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-messages-'));
const file = (name: string, data: Uint8Array | string): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const npy = (name: string, shape: number[], fill: (i: number) => number): string =>
  file(name, formatNpy({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)) }));

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr };
}

async function exit2(args: string[], message: RegExp): Promise<string> {
  const r = await run(args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(message);
  return r.stderr.trim();
}

/** A smooth pseudo-random image in [0, 1], fixed (no seed to vary). */
const img = (i: number): number => 0.5 + 0.4 * Math.sin(0.37 * i + 1.3 * Math.cos(0.11 * i));

describe('an option given twice is exit 2 naming it', () => {
  const x = EXAMPLE_X;
  const y = EXAMPLE_Y;
  it.each([
    [['value', x, y, '--preset', 'skimage', '--preset', 'tf'], /^ssim-grad value: --preset: given twice \('skimage' and 'tf'\), expected at most once$/],
    [['value', x, y, '--size=7', '--size', '7'], /^ssim-grad value: --size: given twice \('7' and '7'\)/],
    [['value', x, y, '--json', '--json'], /^ssim-grad value: --json: given twice, expected at most once$/],
    [['grad', x, y, '--out', join(dir, 'a.npy'), '--out', join(dir, 'b.npy')], /^ssim-grad grad: --out: given twice/],
    [['check', join(dir, 'c.npy'), x, y, '--wrt', 'x', '--wrt', 'y'], /^ssim-grad check: --wrt: given twice \('x' and 'y'\)/],
    [['trace', x, y, '--pixel', '0,0,0', '--pixel', '0,1,1'], /^ssim-grad trace: --pixel: given twice/],
    [['derive', '--format', 'md', '--format', 'html'], /^ssim-grad derive: --format: given twice/],
  ])('%j', async (args, message) => {
    await exit2(args, message);
  });

  it('grad with --out twice writes neither file', async () => {
    await run(['grad', x, y, '--out', join(dir, 'first.npy'), '--out', join(dir, 'second.npy')]);
    expect(existsSync(join(dir, 'first.npy')) || existsSync(join(dir, 'second.npy'))).toBe(false);
  });
});

describe("a bad rank names its own file", () => {
  const hw = npy('hw.npy', [16, 16], img);
  const rank1 = npy('rank1.npy', [16], img);
  const rank5 = npy('rank5.npy', [1, 1, 1, 16, 16], img);
  it.each([
    ['X of rank 1, Y of rank 2 (today it blamed Y)', [rank1, hw], /^ssim-grad value: \S*rank1\.npy: expected a tensor of shape HW, CHW or NCHW, got shape \[16\]$/],
    ['X of rank 5, Y of rank 5 (today it said just "x")', [rank5, rank5], /^ssim-grad value: \S*rank5\.npy: expected a tensor of shape HW, CHW or NCHW, got shape \[1,1,1,16,16\]$/],
    ['Y of rank 1 names Y', [hw, rank1], /^ssim-grad value: \S*rank1\.npy: expected a tensor of shape HW, CHW or NCHW/],
  ])('%s', async (_, files, message) => {
    await exit2(['value', ...files], message);
  });

  it('check and trace name it too', async () => {
    await exit2(['check', hw, rank5, hw], /^ssim-grad check: \S*rank5\.npy: expected a tensor of shape HW, CHW or NCHW/);
    await exit2(['trace', rank1, hw, '--pixel', '0,0'], /^ssim-grad trace: \S*rank1\.npy: expected a tensor of shape HW, CHW or NCHW/);
  });
});

describe('a truncated PNG', () => {
  const whole = readFileSync(EXAMPLE_Y);
  it.each([
    ['cut in half', whole.subarray(0, whole.length >> 1)],
    ['cut after the header', whole.subarray(0, 40)],
    ['its last chunk cut', whole.subarray(0, whole.length - 5)],
  ])('%s says "truncated or corrupt PNG", not pngjs\'s text', async (_, bytes) => {
    const p = file('cut.png', bytes);
    const m = await exit2(['value', EXAMPLE_X, p], /^ssim-grad value: \S*cut\.png: truncated or corrupt PNG, expected a complete PNG image$/);
    expect(m).not.toMatch(/stream|waitng|request/i);
    expect(() => parsePng(Buffer.from(bytes), 'cut.png')).toThrow(/^cut\.png: truncated or corrupt PNG/);
  });

  it('a corrupted chunk (its checksum no longer matches) says so', () => {
    const bytes = Buffer.from(whole);
    bytes[40] = bytes[40]! ^ 0xff; // inside the first chunk after IHDR
    expect(() => parsePng(bytes, 'flip.png')).toThrow(/^flip\.png: truncated or corrupt PNG/);
  });
});

describe('overflow names the magnitude that overflowed', () => {
  // values near 1e80: SSIM's products of four (A1 A2 ~ |v|^4) pass float64's 1.8e308
  const big = npy('big.npy', [16, 16], (i) => 1e80 * img(i));
  const bigger = npy('bigger.npy', [16, 16], (i) => (i === 37 ? 3e80 : 1e80 * img(i + 5)));
  it('value: names the file, the flat index and the magnitude, and says float64', async () => {
    await exit2(['value', big, bigger], /^ssim-grad value: the result is NaN under these options; \S*bigger\.npy \(value at flat index 37\) reaches 3\.00e\+80 in magnitude, .*overflow float64 beyond about 5\.8e\+76/);
  });

  it('grad: the same, and nothing is written', async () => {
    const out = join(dir, 'g-big.npy');
    await exit2(['grad', big, bigger, '--out', out], /bigger\.npy \(value at flat index 37\) reaches 3\.00e\+80 in magnitude/);
    expect(existsSync(out)).toBe(false);
  });

  it('a data range that large is named as the data range', async () => {
    await exit2(['value', npy('unit.npy', [16, 16], img), npy('unit2.npy', [16, 16], (i) => img(i + 3)), '--data-range', '1e80'], /the data range L \(--data-range\) reaches 1\.00e\+80 in magnitude/);
  });

  it('--precision float32: a value beyond float32 is named with its index', async () => {
    const f = npy('f32big.npy', [16, 16], (i) => (i === 9 ? 5e38 : img(i)));
    await exit2(['value', f, npy('ok.npy', [16, 16], img), '--precision', 'float32'], /^ssim-grad value: \S*f32big\.npy: value at flat index 9 is 5e\+38, beyond float32's largest 3\.40e\+38/);
  });

  it("check: the float32 floor overflows at 1e20 (float64 does not): named, exit 2, not a NaN verdict", async () => {
    const x = npy('x20.npy', [16, 16], (i) => 1e20 * img(i));
    const y = npy('y20.npy', [16, 16], (i) => 1e20 * img(i + 7));
    const cand = npy('zero20.npy', [16, 16], () => 0);
    await exit2(['check', cand, x, y, '--data-range', '1e20'], /^ssim-grad check: .* reaches 1\.00e\+20 in magnitude, .*overflow float32 \(the rounding floor is measured in float32 arithmetic\)/);
  });
});

describe("names of Object.prototype's and line breaks in the user's text", () => {
  it.each(['--constructor', '--__proto__', '--toString', '--hasOwnProperty'])('%s is an unknown option, not a silent switch', async (flag) => {
    await exit2(['value', EXAMPLE_X, EXAMPLE_Y, flag], new RegExp(`^ssim-grad value: unknown option ${flag}`));
    await exit2(['check', EXAMPLE_X, EXAMPLE_X, EXAMPLE_Y, flag, '1'], new RegExp(`^ssim-grad check: unknown option ${flag}`));
  });

  it("a command named like one of Object.prototype's is an unknown command", async () => {
    await exit2(['constructor'], /^ssim-grad: unknown command 'constructor'/);
  });

  it('a formula with line breaks (or a ;) is refused on one line, the break shown as \\n', async () => {
    const msg = await exit2(['check-formula', 'mu_x;\nmu_y', '--wrt', 'mu_x'], /^ssim-grad check-formula: EXPR: /);
    expect(msg).toContain('\\n');
  });
});
