/** The value and grad commands: output contract, options, inputs and every bad-input path. */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNpy, readTensor } from '../../src/io/index.js';
import { ssimGrad } from '../../src/runtime/index.js';
import { cli, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';
import { loadPeer, peerCase, PEER_DIR } from '../support/fixtures.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ssim-grad-'));

describe('ssim-grad value', () => {
  it('prints the SSIM, and {"ssim": n} with --json, equal to the library', () => {
    const c = peerCase('skimage-rgb-box');
    const x = join(PEER_DIR, c.x);
    const y = join(PEER_DIR, c.y);
    const plain = cli(['value', x, y, '--preset', 'skimage', '--data-range', '1']);
    expect(plain.status).toBe(0);
    expect(Math.abs(Number(plain.stdout.trim()) - c.value)).toBeLessThan(1e-10 * c.value);
    const json = cli(['value', x, y, '--preset=skimage', '--data-range=1', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ ssim: Number(plain.stdout.trim()), value: Number(plain.stdout.trim()) });
  });

  it('reads PNG, JSON and uint8 .npy inputs', () => {
    const r = cli(['value', EXAMPLE_X, EXAMPLE_Y, '--json']);
    expect(r.status).toBe(0);
    const png = readTensor(EXAMPLE_X);
    expect(png.shape).toEqual([3, 48, 64]);
    const dir = tmp();
    writeFileSync(join(dir, 'x.json'), JSON.stringify({ shape: png.shape, data: Array.from(png.data) }));
    writeFileSync(join(dir, 'y.json'), JSON.stringify({ shape: png.shape, data: Array.from(readTensor(EXAMPLE_Y).data) }));
    const viaJson = cli(['value', join(dir, 'x.json'), join(dir, 'y.json'), '--json']);
    expect(JSON.parse(viaJson.stdout)).toEqual(JSON.parse(r.stdout));
    const c = peerCase('matlab-ssim-downsampled'); // stored as uint8
    const m = cli(['value', join(PEER_DIR, c.x), join(PEER_DIR, c.y), '--preset', 'matlab', '--json']);
    expect(Math.abs(JSON.parse(m.stdout).ssim - c.value)).toBeLessThan(1e-10);
  });

  it('fills L = 255 for uint8 .npy inputs under skimage and tf, as --data-range 255 on the same numbers as float64 (value, grad and check)', () => {
    const dir = tmp();
    const u8 = (name: string, seed: number): string => {
      const data = Uint8Array.from({ length: 3 * 20 * 20 }, (_, i) => (i * 37 + seed * Math.round(4 * Math.sin(i))) % 256);
      let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 20, 20), }";
      header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
      const bytes = new Uint8Array(10 + header.length + data.length);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0], 0);
      bytes.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
      bytes.set(data, 10 + header.length);
      writeFileSync(join(dir, `${name}.npy`), bytes);
      writeFileSync(join(dir, `${name}-f64.npy`), formatNpy({ shape: [3, 20, 20], data: Float64Array.from(data) }));
      return join(dir, `${name}.npy`);
    };
    const [x, y] = [u8('x', 0), u8('y', 11)];
    const [xf, yf] = [join(dir, 'x-f64.npy'), join(dir, 'y-f64.npy')];
    for (const preset of ['skimage', 'tf']) {
      const r = cli(['value', x, y, '--preset', preset]);
      expect(r.stderr, preset).toBe('');
      expect(r.status, preset).toBe(0);
      const explicit = cli(['value', xf, yf, '--preset', preset, '--data-range', '255']);
      expect(Number(r.stdout), preset).toBe(Number(explicit.stdout));
      // float64 without L: refused, one line
      const refused = cli(['value', xf, yf, '--preset', preset]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(`the ${preset} preset needs the data range`);
    }
    const g = join(dir, 'g.npy');
    expect(cli(['grad', x, y, '--preset', 'skimage', '--out', g]).status).toBe(0);
    expect(cli(['check', g, x, y, '--preset', 'skimage']).stdout).toMatch(/^verdict: MATCH/m);
  });

  it('lets explicit options override the preset', () => {
    const base = JSON.parse(cli(['value', EXAMPLE_X, EXAMPLE_Y, '--json']).stdout).ssim;
    const box = JSON.parse(cli(['value', EXAMPLE_X, EXAMPLE_Y, '--window', 'box', '--size', '7', '--json']).stdout).ssim;
    expect(box).not.toBe(base);
  });
});

describe('ssim-grad grad', () => {
  it('writes d ssim/dx as float64 .npy with X\'s shape, and --json names the file', () => {
    const c = peerCase('pytorch-ssim-L255');
    const dir = tmp();
    const out = join(dir, 'g.npy');
    const r = cli(['grad', join(PEER_DIR, c.x), join(PEER_DIR, c.y), '--data-range', '255', '--out', out, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ssim: expect.closeTo(c.value, 12), value: expect.closeTo(c.value, 12), out });
    const g = readTensor(out);
    expect(g.dtype).toBe('float64');
    expect(g.shape).toEqual(loadPeer(c.x).shape);
    const autograd = loadPeer(c.gradX!).data;
    const maxAbs = Math.max(...Array.from(autograd, Math.abs));
    expect(Math.max(...Array.from(g.data, (v, i) => Math.abs(v - autograd[i]!))) / maxAbs).toBeLessThan(1e-9);
  });

  it('--wrt y writes d ssim/dy', () => {
    const dir = tmp();
    const out = join(dir, 'gy.npy');
    expect(cli(['grad', EXAMPLE_X, EXAMPLE_Y, '--wrt', 'y', '--out', out]).status).toBe(0);
    const lib = ssimGrad(readTensor(EXAMPLE_X), readTensor(EXAMPLE_Y));
    const written = readTensor(out).data;
    // computed as d/dx S(y, x) (S is symmetric): equal up to the order of the rounding
    const scale = Math.max(...Array.from(lib.gradY.data, Math.abs));
    expect(Math.max(...Array.from(written, (v, i) => Math.abs(v - lib.gradY.data[i]!)))).toBeLessThan(1e-13 * scale);
  });
});

describe('bad input: exit 2, one line naming the argument, nothing written', () => {
  const dir = tmp();
  const bad = (name: string, data: Uint8Array | string): string => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const nan = bad('nan.npy', formatNpy({ shape: [1, 1, 12, 12], data: new Float64Array(144).fill(NaN) }));
  const small = bad('small.npy', formatNpy({ shape: [12, 12], data: new Float64Array(144).fill(0.5) }));
  const other = bad('other.npy', formatNpy({ shape: [13, 12], data: new Float64Array(156).fill(0.5) }));
  const tiny = bad('tiny.npy', formatNpy({ shape: [6, 6], data: new Float64Array(36).fill(0.5) }));
  const cases: Array<[string, string[], RegExp]> = [
    ['missing file', ['value', join(dir, 'none.npy'), small], /none\.npy: cannot read \(no such file\)/],
    ['not an npy', ['value', bad('junk.npy', 'hello'), small], /junk\.npy: not an \.npy file/],
    ['bad json', ['value', bad('bad.json', '{"shape": [2, 2], "data": [1, 2]}'), small], /bad\.json: shape \[2,2\] needs 4 values/],
    ['unknown extension', ['value', bad('img.tif', 'x'), small], /unknown file type '\.tif'/],
    ['NaN in input', ['value', nan, small], /nan\.npy: value at flat index 0 is NaN, expected a finite number/],
    ['shape mismatch', ['value', small, other], /other\.npy: shape \[13,12\] differs from .*small\.npy's shape \[12,12\]/],
    ['hexadecimal number', ['value', small, small, '--size', '0x3'], /--size: got '0x3', expected a number/],
    ['sigma with a box window', ['value', small, small, '--window', 'box', '--sigma', '2'], /sigma \(--sigma\): only a gaussian window has one/],
    ['a sigma whose taps underflow', ['value', small, small, '--sigma', '1e-170'], /sigma \(--sigma\): got 1e-170, too small/],
    ['a variant option without the variant', ['value', small, small, '--lambda', '0.3'], /lambda \(--lambda\): only the 3dgs-loss variant takes lambda, the variant is ssim/],
    ['a result that is not a number', ['value', small, small, '--k1', '0', '--k2', '0'], /the result is NaN under these options; with --k1 0 or --k2 0/],
    ['even size', ['value', small, small, '--size', '8'], /size \(--size\): got 8, expected an odd integer/],
    ['sigma <= 0', ['value', small, small, '--sigma', '0'], /sigma \(--sigma\): got 0, expected a number > 0/],
    ['data range <= 0', ['value', small, small, '--data-range', '-1'], /dataRange \(--data-range\): got -1/],
    ['not a number', ['value', small, small, '--k1', 'abc'], /--k1: got 'abc', expected a number/],
    ['bad padding', ['value', small, small, '--padding', 'wrap'], /--padding: got 'wrap', expected one of same, valid/],
    ['bad preset', ['value', small, small, '--preset', 'keras'], /--preset: got 'keras'/],
    ['image smaller than the window', ['value', tiny, tiny, '--preset', 'tf', '--data-range', '1'], /smaller than the 11 x 11 window/],
    ['skimage without data range', ['value', small, small, '--preset', 'skimage'], /the skimage preset needs the data range/],
    ['one image', ['value', small], /expected two image files X Y, got 1/],
    ['unknown option', ['value', small, small, '--bogus'], /unknown option --bogus/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['grad without --out', ['grad', small, small], /--out: required/],
    ['bad --wrt', ['grad', small, small, '--wrt', 'z', '--out', join(dir, 'g.npy')], /--wrt: got 'z', expected x or y/],
  ];
  it.each(cases)('%s', (_, args, message) => {
    const before = readdirSync(dir).length;
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
    expect(readdirSync(dir).length).toBe(before);
  });

  it('grad into a folder that does not exist: exit 2, no temporary file left', () => {
    const r = cli(['grad', small, small, '--out', join(dir, 'missing', 'g.npy')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/g\.npy: cannot write/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('--help lists every option with its default', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--preset', '--window', '--size', '--sigma', '--k1', '--k2', '--data-range', '--padding', '--sample-covariance', '--no-sample-covariance']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/--preset VALUE.*\(default: pytorch-ssim\)/);
  });
});
