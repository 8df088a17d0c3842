/**
 * The example user variants (examples/variants: masked SSIM, SSIM on luma, SSIM of gamma-encoded
 * images) through the CLI's --variant-file and through the library: masked and luma against PyTorch
 * float64 autograd (scripts/make_fixtures.py, test/fixtures/examples), the value and both gradients
 * to 1e-9 relative on every fixture case; gamma against plain SSIM of the encoded images through the
 * chain rule;
 * check and trace on them; derive of a user's variant; and bad variant files and options exit 2
 * naming the argument, with nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNpy, readTensor } from '../../src/io/index.js';
import { evaluateVariant } from '../../src/runtime/variants.js';
import { defineVariant, ssimGrad } from '../../src/index.js';
import lumaSsim from '../../examples/variants/luma-ssim.js';
import maskedSsim from '../../examples/variants/masked-ssim.js';
import { cliInProcess, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test/fixtures/examples');
const MASKED = join(ROOT, 'examples/variants/masked-ssim.ts');
const LUMA = join(ROOT, 'examples/variants/luma-ssim.ts');
const GAMMA = join(ROOT, 'examples/variants/gamma-ssim.ts');

interface Case {
  name: string;
  options: { preset: string; dataRange: number; coefficients?: number[] };
  x: string;
  y: string;
  mask?: string | null;
  value: number;
  gradX: string;
  gradY: string;
}

const CASES = (JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Case[]).map((c) => ({
  ...c,
  x: join(DIR, c.x),
  y: join(DIR, c.y),
  mask: c.mask ? join(DIR, c.mask) : undefined,
  gradX: join(DIR, c.gradX),
  gradY: join(DIR, c.gradY),
}));

/** The variant's flags for a fixture case: its file, the preset, and the mask or the coefficients. */
function variantArgs(c: (typeof CASES)[number]): string[] {
  const args = ['--preset', c.options.preset, '--data-range', String(c.options.dataRange)];
  if (c.mask !== undefined) return [...args, '--variant-file', MASKED, '--mask', c.mask];
  return [...args, '--variant-file', LUMA, ...(c.options.coefficients ? ['--coefficients', c.options.coefficients.join(',')] : [])];
}

/** max |a - b| / max |b|. */
function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

const tmp = mkdtempSync(join(tmpdir(), 'ssim-grad-examples-'));

describe('the fixture cases', () => {
  it('cover both examples, the mask as [N,1,H,W] over RGB and over a gray batch, and two luma matrices', async () => {
    expect(CASES.map((c) => c.name).sort()).toEqual(['luma-ssim-601', 'luma-ssim-709', 'luma-ssim-709-batch', 'masked-ssim-gray-batch', 'masked-ssim-rgb']);
    for (const c of CASES.filter((k) => k.mask !== undefined)) {
      const [N, , H, W] = readTensor(c.x).shape;
      expect(readTensor(c.mask!).shape).toEqual([N, 1, H, W]);
    }
  });
});

describe.each(CASES)('ssim-grad --variant-file on $name', (c) => {
  it('value --json matches PyTorch autograd to 1e-9 relative, with the keys of a built-in variant', async () => {
    const r = (await cliInProcess(['value', c.x, c.y, ...variantArgs(c), '--json']));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as { value: number; ssim: number; variant: string };
    expect(Object.keys(v).sort()).toEqual(['ssim', 'value', 'variant']);
    expect(v.variant).toBe(c.mask !== undefined ? 'masked-ssim' : 'luma-ssim');
    expect(Math.abs(v.value - c.value) / Math.abs(c.value)).toBeLessThan(1e-9);
  });

  it.each(['x', 'y'] as const)('grad --wrt %s matches the autograd gradient to 1e-9 relative', async (wrt) => {
    const out = join(tmp, `${c.name}-${wrt}.npy`);
    const r = (await cliInProcess(['grad', c.x, c.y, ...variantArgs(c), '--wrt', wrt, '--out', out, '--json']));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual(['out', 'ssim', 'value']);
    const g = readTensor(out);
    const want = readTensor(wrt === 'x' ? c.gradX : c.gradY);
    expect(g.shape).toEqual(want.shape);
    expect(relative(g.data, want.data)).toBeLessThan(1e-9);
  });

  it('the library: evaluateVariant with the declaration imported matches value and gradients to 1e-9', async () => {
    const x = readTensor(c.x);
    const y = readTensor(c.y);
    const options = { preset: 'pytorch-ssim' as const, dataRange: c.options.dataRange };
    const r = c.mask !== undefined
      ? evaluateVariant(x, y, { ...options, variant: maskedSsim, variantOptions: { mask: readTensor(c.mask) } })
      : evaluateVariant(x, y, { ...options, variant: lumaSsim, variantOptions: c.options.coefficients ? { coefficients: c.options.coefficients } : {} });
    expect(Math.abs(r.value - c.value) / Math.abs(c.value)).toBeLessThan(1e-9);
    expect(relative(r.gradX, readTensor(c.gradX).data)).toBeLessThan(1e-9);
    expect(relative(r.gradY, readTensor(c.gradY).data)).toBeLessThan(1e-9);
  });
});

describe('check, trace and derive on a user variant', () => {
  const rgb = CASES.find((c) => c.name === 'masked-ssim-rgb')!;
  const luma = CASES.find((c) => c.name === 'luma-ssim-709')!;

  it.each([rgb, luma])('check of the autograd gradient is a MATCH (exit 0): $name', async (c) => {
    const r = (await cliInProcess(['check', c.gradX, c.x, c.y, ...variantArgs(c)]));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/verdict: MATCH/);
    expect(r.status).toBe(0);
  });

  it.each([rgb, luma])('check of a wrong candidate is a mismatch (exit 1): one pixel changed, and the plain SSIM gradient: $name', async (c) => {
    const g = readTensor(c.gradX);
    const data = Float64Array.from(g.data);
    const big = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const at = Math.floor(data.length / 2) + 7;
    data[at] = data[at]! + 0.2 * big;
    const onePixel = join(tmp, `${c.name}-one-pixel.npy`);
    writeFileSync(onePixel, formatNpy({ shape: [...g.shape], data }));
    const r = (await cliInProcess(['check', onePixel, c.x, c.y, ...variantArgs(c)]));
    expect(r.stdout).toMatch(/verdict: MISMATCH/);
    expect(r.status).toBe(1);
    const plain = join(tmp, `${c.name}-plain.npy`);
    expect((await cliInProcess(['grad', c.x, c.y, '--preset', c.options.preset, '--data-range', String(c.options.dataRange), '--out', plain])).status).toBe(0);
    const p = (await cliInProcess(['check', plain, c.x, c.y, ...variantArgs(c)]));
    expect(p.stdout).toMatch(/verdict: MISMATCH/);
    expect(p.status).toBe(1);
  });

  it.each([rgb, luma])('trace --pixel exits 0 and names the variant: $name', async (c) => {
    const r = (await cliInProcess(['trace', c.x, c.y, '--pixel', '0,1,20,30', ...variantArgs(c)]));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(c.mask !== undefined ? 'masked-ssim' : 'luma-ssim');
  });

  it.each([MASKED, LUMA, GAMMA])('derive --variant-file writes a document that names the variant: %s', async (file) => {
    const name = file.replace(/^.*\//, '').replace(/\.ts$/, '');
    const out = join(tmp, `derive-${name}.md`);
    const r = (await cliInProcess(['derive', '--variant-file', file, '--out', out]));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(`# ${name}:`);
  });
});

describe('bad variant files and options: exit 2, one line naming the argument, nothing written', () => {
  const c = CASES.find((k) => k.name === 'masked-ssim-rgb')!;
  const gray = CASES.find((k) => k.name === 'masked-ssim-gray-batch')!;
  const file = (name: string, text: string): string => {
    const path = join(tmp, name);
    writeFileSync(path, text);
    return path;
  };
  const loss = 'loss: ({ x, y, g }) => g.ssim(x, y)';
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing file', ['--variant-file', join(tmp, 'nope.ts')], /--variant-file: '.*nope\.ts' does not exist, expected a \.ts, \.mts, \.js, \.mjs module whose default export/],
    ['--variant beside it', ['--variant-file', MASKED, '--mask', c.mask!, '--variant', 'dssim'], /--variant-file: conflicts with --variant/],
    ['a syntax error', ['--variant-file', file('syntax.ts', 'export default { name: "s", summary: "s", loss: ( => 1 };\n')], /--variant-file: '.*syntax\.ts' failed to load \(.*\); expected a/],
    ['no declaration', ['--variant-file', file('none.mjs', 'export const answer = 42;\n')], /--variant-file: '.*none\.mjs' exports no variant declaration \(its exports: answer\); expected/],
    ['a bad declaration', ['--variant-file', file('bad.mjs', `export default { name: 'Bad Name', summary: 's', ${loss} };\n`)], /--variant-file: '.*bad\.mjs': variant 'Bad Name': name must be lower case/],
    ['a wrong extension', ['--variant-file', file('v.txt', 'x')], /--variant-file: '.*v\.txt': expected a \.ts/],
    ['a loss that throws', ['--variant-file', file('throws.ts', "export default { name: 'boom', summary: 's', loss: (): never => { throw new RangeError('no luck'); } };\n")], /--variant-file: '.*throws\.ts': the loss of variant boom threw \(RangeError: no luck\)/],
    ['a loss that returns no node', ['--variant-file', file('undef.mjs', "export default { name: 'undef', summary: 's', loss: () => 1 };\n")], /--variant-file: '.*undef\.mjs': the loss of variant undef returned 1, expected a scalar field node/],
    ['an option flag taken by the command', ['--variant-file', file('clash.mjs', `export default { name: 'clash', summary: 's', options: { out: { kind: 'number', default: 1, help: 'h' } }, ${loss} };\n`)], /--variant-file: '.*clash\.mjs': variant clash's option flag --out is one of (value|grad)'s own options/],
    ['an option key that is a built-in variant\'s', ['--variant-file', file('takes.mjs', `export default { name: 'takes', summary: 's', options: { lambda: { kind: 'number', flag: 'my-lambda', default: 1, help: 'h' } }, ${loss} };\n`)], /variant takes: its option lambda has the key of the 3dgs-loss variant's \(--lambda\); choose another key/],
    ['an option key that is an SSIM option', ['--variant-file', file('hides.mjs', `export default { name: 'hides', summary: 's', options: { size: { kind: 'number', default: 1, help: 'h' } }, ${loss} };\n`)], /--variant-file: '.*hides\.mjs'.*option key "size" is taken/],
    ['the mask missing', ['--variant-file', MASKED], /mask \(--mask\): the masked-ssim variant needs it/],
    ['a mask of the wrong shape', ['--variant-file', MASKED, '--mask', gray.mask!], /--mask: .*masked-ssim-gray-batch\.mask\.npy has shape \[2, 1, 33, 29\], which does not broadcast against X's shape \[1, 3, 40, 52\]/],
    ['a mask file that does not exist', ['--variant-file', MASKED, '--mask', join(tmp, 'no-mask.npy')], /--mask: .*no-mask\.npy: cannot read \(no such file\)/],
    ['a built-in variant option', ['--variant-file', MASKED, '--mask', c.mask!, '--lambda', '0.3'], /lambda \(--lambda\): only the 3dgs-loss variant takes lambda, the variant is masked-ssim/],
    ['luma coefficients not three', ['--variant-file', LUMA, '--coefficients', '1,2'], /coefficients \(--coefficients\): got \[1,2\], expected three numbers/],
    ['luma coefficients not numbers', ['--variant-file', LUMA, '--coefficients', '1,a,2'], /--coefficients: got '1,a,2', expected comma-separated numbers/],
    ['an unknown flag of the variant', ['--variant-file', LUMA, '--mask', c.mask!], /unknown option --mask/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const out = join(tmp, 'never.npy');
    const r = (await cliInProcess(['grad', c.x, c.y, ...args, '--out', out]));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('luma on a gray image: exit 2 naming the file and the channels', async () => {
    const r = (await cliInProcess(['value', gray.x, gray.y, '--variant-file', LUMA]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--variant-file: '.*luma-ssim\.ts': the loss of variant luma-ssim threw \(luma-ssim needs RGB images \(3 channels\), got 1 channel/);
  });

  it('--help with a variant file lists its options', async () => {
    const r = (await cliInProcess(['grad', '--variant-file', MASKED, '--help']));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}--mask VALUE .*per-pixel weights/m);
    expect(r.stdout).toMatch(/^ {2}--variant-file VALUE/m);
  });

  it('defineVariant from the library refuses a broken declaration, naming what is wrong', async () => {
    expect(() => defineVariant({ name: 'ok', summary: '', loss: maskedSsim.loss })).toThrow(/summary must be a non-empty string/);
    expect(defineVariant(maskedSsim)).toBe(maskedSsim);
  });
});

describe('a user variant in a .mjs file: a named export `variant`, a number option with its check', () => {
  const path = join(tmp, 'dssim-squared.mjs');
  writeFileSync(
    path,
    [
      'export const variant = {',
      "  name: 'dssim-squared',",
      "  summary: '((1 - SSIM) / d)^2',",
      "  options: { divisor: { kind: 'number', default: 1, help: 'd', check: (v) => (v > 0 ? undefined : 'expected a number > 0') } },",
      '  loss: ({ x, y, values, g }) => g.map(({ s }) => g.e.square(g.e.div(g.e.sub(1, s), values.divisor)), { s: g.ssim(x, y) }),',
      '};',
    ].join('\n'),
  );

  it('value and grad follow the chain rule over SSIM: d/dx ((1 - s)/d)^2 = -2 (1 - s)/d^2 ds/dx', async () => {
    const v = JSON.parse((await cliInProcess(['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', path, '--divisor', '2', '--json'])).stdout) as { value: number; ssim: number; variant: string };
    expect(v.variant).toBe('dssim-squared');
    expect(v.value).toBeCloseTo(((1 - v.ssim) / 2) ** 2, 14);
    const out = join(tmp, 'dssim-squared.npy');
    const plain = join(tmp, 'plain.npy');
    expect((await cliInProcess(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', path, '--divisor', '2', '--out', out])).status).toBe(0);
    expect((await cliInProcess(['grad', EXAMPLE_X, EXAMPLE_Y, '--out', plain])).status).toBe(0);
    const factor = (-2 * (1 - v.ssim)) / 4;
    const want = Float64Array.from(readTensor(plain).data, (g) => factor * g);
    expect(relative(readTensor(out).data, want)).toBeLessThan(1e-12);
  });

  it('the default applies, and a value its check refuses is exit 2 naming the option', async () => {
    const v = JSON.parse((await cliInProcess(['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', path, '--json'])).stdout) as { value: number; ssim: number };
    expect(v.value).toBeCloseTo((1 - v.ssim) ** 2, 14);
    const r = (await cliInProcess(['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', path, '--divisor', '0']));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/divisor \(--divisor\): got 0, expected a number > 0/);
  });
});

describe('gamma-ssim: SSIM of the encoded images c(v) = (v + e)^p - e^p, by the chain rule', () => {
  const e = 1e-3;
  const x = readTensor(EXAMPLE_X);
  const y = readTensor(EXAMPLE_Y);
  /** The curve and its slope, written out here (not through the graph). */
  const encode = (t: typeof x, p: number) => ({ shape: t.shape, data: Float64Array.from(t.data, (v) => (v + e) ** p - e ** p) });
  const slope = (v: number, p: number): number => p * (v + e) ** (p - 1);

  it.each([['default', 0.45, []], ['2', 2, ['--exponent', '2']]] as const)('--exponent %s: value is plain SSIM of c(x), c(y); d/dx, d/dy are c\'(x) times plain SSIM\'s gradient there', async (_, p, flags) => {
    const plain = ssimGrad(encode(x, p), encode(y, p));
    for (const wrt of ['x', 'y'] as const) {
      const out = join(tmp, `gamma-${p}-${wrt}.npy`);
      const r = (await cliInProcess(['grad', EXAMPLE_X, EXAMPLE_Y, '--variant-file', GAMMA, ...flags, '--wrt', wrt, '--out', out, '--json']));
      expect(r.stderr).toBe('');
      expect(Math.abs((JSON.parse(r.stdout) as { value: number }).value - plain.ssim)).toBeLessThan(1e-13);
      const img = wrt === 'x' ? x : y;
      const g = (wrt === 'x' ? plain.gradX : plain.gradY).data;
      expect(relative(readTensor(out).data, Float64Array.from(g, (d, i) => slope(img.data[i]!, p) * d))).toBeLessThan(1e-12);
    }
  });
});
