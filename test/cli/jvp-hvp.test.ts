/**
 * The jvp and hvp commands (src/cli/forward.ts): what they print and write against the library
 * (variantJvp, variantHvp) and against oracles that do not use forward mode: jvp = <grad, dx> +
 * <grad_y, dy> with the grad command's .npy (the generated kernels, reverse mode), the map's tangent
 * against central differences of the map's value, and H v against central differences of the grad
 * command's output; a user's variant file (run isolated); --json's shape; and every bad argument:
 * exit 2, one line naming it, nothing written.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNpy, readTensor } from '../../src/io/index.js';
import { variantHvp, variantJvp } from '../../src/runtime/jvp.js';
import type { Tensor } from '../../src/field/index.js';
import maskedSsim from '../../examples/variants/masked-ssim.js';
import { cliInProcess, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MASKED = join(ROOT, 'examples/variants/masked-ssim.ts');
const MASK = join(ROOT, 'examples/variants/mask.png');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'ssim-grad-jvp-'));

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const X = readTensor(EXAMPLE_X);
const Y = readTensor(EXAMPLE_Y);
const DIR = tmp();
/** Writes a float64 .npy into DIR and returns its path. */
const npy = (name: string, shape: readonly number[], data: Float64Array): string => {
  const p = join(DIR, name);
  writeFileSync(p, formatNpy({ shape, data }));
  return p;
};
const dir = (seed: number): Float64Array => {
  const r = random(seed);
  return Float64Array.from(X.data, () => 2 * r() - 1);
};
const DX = dir(1);
const DY = dir(2);
const DX_PATH = npy('dx.npy', X.shape, DX);
const DY_PATH = npy('dy.npy', X.shape, DY);
const tensor = (data: Float64Array): Tensor => ({ shape: X.shape, data });
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
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

async function ok(args: string[]): Promise<string> {
  const r = await cliInProcess(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The grad command's d/d`wrt` (the generated kernels or reverse mode) for images given as files. */
async function gradOf(x: string, y: string, wrt: 'x' | 'y', extra: string[] = []): Promise<Float64Array> {
  const out = join(tmp(), 'g.npy');
  await ok(['grad', x, y, '--wrt', wrt, '--out', out, ...extra]);
  return readTensor(out).data as Float64Array;
}

/** x + s d, written as a float64 .npy. */
const moved = (name: string, x: Tensor, d: Float64Array, s: number): string => npy(name, x.shape, Float64Array.from(x.data, (v, i) => v + s * d[i]!));

describe('ssim-grad jvp', () => {
  it('prints the value and the JVP the library gives, equal to <grad_x, dx> + <grad_y, dy> from the grad command', async () => {
    const text = await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, '--dy', DY_PATH]);
    const lib = variantJvp(X, Y, tensor(DX), tensor(DY));
    expect(text).toBe(`ssim ${lib.value}\njvp ${lib.jvp}\n`);
    const gx = await gradOf(EXAMPLE_X, EXAMPLE_Y, 'x');
    const gy = await gradOf(EXAMPLE_X, EXAMPLE_Y, 'y');
    const oracle = dot(gx, DX) + dot(gy, DY);
    expect(Math.abs(lib.jvp - oracle)).toBeLessThan(1e-12 * Math.abs(oracle) + 1e-15);
    // without --dy only x moves
    const xOnly = JSON.parse(await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, '--json'])).jvp;
    expect(Math.abs(xOnly - dot(gx, DX))).toBeLessThan(1e-12 * Math.abs(xOnly));
  });

  it('--out writes the SSIM map\'s tangent (central differences of the map), --json names it; a variant option passes', async () => {
    const out = join(tmp(), 't.npy');
    const j = JSON.parse(await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, '--variant', '3dgs-loss', '--lambda', '0.4', '--out', out, '--json']));
    const lib = variantJvp(X, Y, tensor(DX), null, { variant: '3dgs-loss', lambda: 0.4, maps: true });
    expect(j).toEqual({ value: lib.value, jvp: lib.jvp, variant: '3dgs-loss', arith: 'float64', out, map: 'S', shape: [3, 48, 64] });
    const t = readTensor(out);
    expect(t.dtype).toBe('float64');
    expect(t.shape).toEqual([3, 48, 64]);
    expect(Array.from(t.data)).toEqual(Array.from(lib.maps[0]!.tangent));
    const h = 1e-5;
    const plus = variantJvp(tensor(Float64Array.from(X.data, (v, i) => v + h * DX[i]!)), Y, null, null, { variant: '3dgs-loss', lambda: 0.4, maps: true }).maps[0]!.value;
    const minus = variantJvp(tensor(Float64Array.from(X.data, (v, i) => v - h * DX[i]!)), Y, null, null, { variant: '3dgs-loss', lambda: 0.4, maps: true }).maps[0]!.value;
    expect(relative(t.data, Float64Array.from(plus, (p, i) => (p - minus[i]!) / (2 * h)))).toBeLessThan(1e-7);
  });

  it('MS-SSIM\'s maps by --map (cs0, S1; cs alone names cs0), and --arith float32 near float64', async () => {
    const ms = ['--variant', 'ms-ssim', '--weights', '0.4,0.6'];
    const out = join(tmp(), 'cs.npy');
    const j = JSON.parse(await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, ...ms, '--out', out, '--map', 'S1', '--json']));
    const lib = variantJvp(X, Y, tensor(DX), null, { variant: 'ms-ssim', weights: [0.4, 0.6], maps: true });
    expect(lib.maps.map((m) => m.label)).toEqual(['cs', 'S']);
    expect(j.map).toBe('S1');
    expect(j.shape).toEqual(lib.maps[1]!.shape.slice(1));
    expect(Array.from(readTensor(out).data)).toEqual(Array.from(lib.maps[1]!.tangent));
    await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, ...ms, '--out', out, '--map', 'cs']);
    expect(Array.from(readTensor(out).data)).toEqual(Array.from(lib.maps[0]!.tangent));
    const f32 = JSON.parse(await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, ...ms, '--arith', 'float32', '--json']));
    expect(f32.arith).toBe('float32');
    expect(f32.jvp).toBe(variantJvp(X, Y, tensor(DX), null, { variant: 'ms-ssim', weights: [0.4, 0.6], arith: 'float32' }).jvp);
    expect(f32.jvp).not.toBe(lib.jvp);
    expect(Math.abs(f32.jvp - lib.jvp)).toBeLessThan(1e-4 * Math.abs(lib.jvp));
  });
});

describe('ssim-grad hvp', () => {
  const h = 1e-5;
  /** (g(x + h v) - g(x - h v)) / 2h for the image `which` moved, g the grad command's d/d`wrt`. */
  async function centralHv(which: 'x' | 'y', v: Float64Array, wrt: 'x' | 'y', extra: string[] = []): Promise<Float64Array> {
    const base = which === 'x' ? X : Y;
    const p = moved(`p${which}.npy`, base, v, h);
    const m = moved(`m${which}.npy`, base, v, -h);
    const gp = await gradOf(which === 'x' ? p : EXAMPLE_X, which === 'y' ? p : EXAMPLE_Y, wrt, extra);
    const gm = await gradOf(which === 'x' ? m : EXAMPLE_X, which === 'y' ? m : EXAMPLE_Y, wrt, extra);
    return Float64Array.from(gp, (a, i) => (a - gm[i]!) / (2 * h));
  }

  it('--v V --wrt x writes H_xx V: the library\'s, and central differences of grad', async () => {
    const out = join(tmp(), 'h.npy');
    const text = await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--v', DX_PATH, '--wrt', 'x', '--out', out]);
    const lib = variantHvp(X, Y, tensor(DX), { wrt: 'x' });
    expect(text).toBe(`ssim ${lib.value}\nwrote the x rows of H v (H the Hessian of ssim), shape [3, 48, 64], to ${out}\n`);
    const written = readTensor(out);
    expect(written.shape).toEqual(X.shape);
    expect(written.dtype).toBe('float64');
    expect(Array.from(written.data)).toEqual(Array.from(lib.hvpX!));
    expect(relative(written.data, await centralHv('x', DX, 'x'))).toBeLessThan(1e-6);
  });

  it('--v V --wrt y writes H_yy V (the direction moves y)', async () => {
    const out = join(tmp(), 'h.npy');
    await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--v', DY_PATH, '--wrt', 'y', '--out', out, '--variant', 'dssim']);
    expect(relative(readTensor(out).data, await centralHv('y', DY, 'y', ['--variant', 'dssim']))).toBeLessThan(1e-6);
  });

  it('--vx --vy --wrt both writes both rows (--out, --out-y) and --json says so; --vy alone gives the mixed H_xy VY', async () => {
    const d = tmp();
    const [ox, oy] = [join(d, 'hx.npy'), join(d, 'hy.npy')];
    const j = JSON.parse(await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--vx', DX_PATH, '--vy', DY_PATH, '--wrt', 'both', '--out', ox, '--out-y', oy, '--json']));
    const lib = variantHvp(X, Y, { x: tensor(DX), y: tensor(DY) }, { wrt: 'both' });
    expect(j).toEqual({ value: lib.value, variant: 'ssim', arith: 'float64', wrt: 'both', out: ox, outY: oy });
    expect(Array.from(readTensor(ox).data)).toEqual(Array.from(lib.hvpX!));
    expect(Array.from(readTensor(oy).data)).toEqual(Array.from(lib.hvpY!));
    // H_xy VY: d/dx of the gradient as y moves
    const mixed = join(d, 'hxy.npy');
    await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--vy', DY_PATH, '--out', mixed]);
    const hxy = readTensor(mixed).data;
    expect(relative(hxy, await centralHv('y', DY, 'x'))).toBeLessThan(1e-6);
    // the x rows of H (VX, VY) are H_xx VX + H_xy VY
    const hxx = variantHvp(X, Y, tensor(DX), { wrt: 'x' }).hvpX!;
    expect(relative(readTensor(ox).data, Float64Array.from(hxx, (a, i) => a + hxy[i]!))).toBeLessThan(1e-12);
  });

  it('--arith float32-storage and float32: the library\'s, near float64', async () => {
    const exact = variantHvp(X, Y, tensor(DX), { wrt: 'x' }).hvpX!;
    for (const arith of ['float32-storage', 'float32'] as const) {
      const out = join(tmp(), 'h.npy');
      await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--v', DX_PATH, '--out', out, '--arith', arith]);
      const written = readTensor(out).data;
      expect(Array.from(written)).toEqual(Array.from(variantHvp(X, Y, tensor(DX), { wrt: 'x', arith }).hvpX!));
      const r = relative(written, exact);
      expect(r).toBeGreaterThan(0);
      expect(r).toBeLessThan(1e-3);
    }
  });
});

describe('a user\'s variant file (isolated): masked SSIM', () => {
  it('jvp and hvp agree with the library, and jvp with <grad, dx> from the grad command', async () => {
    const user = ['--variant-file', MASKED, '--mask', MASK];
    const mask = readTensor(MASK);
    const options = { variant: maskedSsim, variantOptions: { mask } };
    const j = JSON.parse(await ok(['jvp', EXAMPLE_X, EXAMPLE_Y, '--dx', DX_PATH, ...user, '--json']));
    const lib = variantJvp(X, Y, tensor(DX), null, options);
    expect(j).toEqual({ value: lib.value, jvp: lib.jvp, variant: 'masked-ssim', arith: 'float64' });
    const g = await gradOf(EXAMPLE_X, EXAMPLE_Y, 'x', user);
    expect(Math.abs(j.jvp - dot(g, DX))).toBeLessThan(1e-12 * Math.abs(j.jvp));
    const out = join(tmp(), 'h.npy');
    await ok(['hvp', EXAMPLE_X, EXAMPLE_Y, '--v', DX_PATH, '--out', out, ...user]);
    // the child builds the graph in its own order: the same sums, perhaps added in another order
    expect(relative(readTensor(out).data, variantHvp(X, Y, tensor(DX), { ...options, wrt: 'x' }).hvpX!)).toBeLessThan(1e-13);
  });
});

describe('bad arguments: exit 2, one line naming the argument, nothing written', () => {
  const d = tmp();
  const put = (name: string, shape: readonly number[], data: Float64Array): string => {
    const p = join(d, name);
    writeFileSync(p, formatNpy({ shape, data }));
    return p;
  };
  const nan = put('nan.npy', X.shape, Float64Array.from(X.data, (_, i) => (i === 7 ? NaN : 0)));
  const huge = put('huge.npy', X.shape, Float64Array.from(X.data, (_, i) => (i === 3 ? 1e39 : 0)));
  const wrong = put('wrong.npy', [3, 48, 63], new Float64Array(3 * 48 * 63));
  const dx = put('d.npy', X.shape, DX);
  const o = join(d, 'o.npy');
  const xy = [EXAMPLE_X, EXAMPLE_Y];
  const cases: Array<[string, string[], RegExp]> = [
    ['jvp without --dx', ['jvp', ...xy], /^ssim-grad jvp: --dx: required, the direction of X/],
    ['--dx of another shape', ['jvp', ...xy, '--dx', wrong], /--dx: .*wrong\.npy has shape \[3, 48, 63\], expected X's shape \[3, 48, 64\]/],
    ['--dy of another shape', ['jvp', ...xy, '--dx', dx, '--dy', wrong, '--out', o], /--dy: .*wrong\.npy has shape \[3, 48, 63\]/],
    ['--dx not finite', ['jvp', ...xy, '--dx', nan, '--out', o], /--dx: .*nan\.npy: value at flat index 7 is NaN, expected a finite number/],
    ['--dx missing file', ['jvp', ...xy, '--dx', join(d, 'none.npy')], /--dx: .*none\.npy: cannot read \(no such file\)/],
    ['--dx beyond float32 in float32 arithmetic', ['jvp', ...xy, '--dx', huge, '--arith', 'float32'], /--dx: .*huge\.npy: value at flat index 3 is 1e\+39, beyond float32's largest/],
    ['bad --arith', ['jvp', ...xy, '--dx', dx, '--arith', 'half'], /--arith: got 'half', expected one of float64, float32-storage, float32/],
    ['--precision (the kernels\' storage)', ['jvp', ...xy, '--dx', dx, '--precision', 'float32'], /unknown option --precision/],
    ['--map without --out', ['jvp', ...xy, '--dx', dx, '--map', 'S'], /--map: names the map whose tangent --out writes/],
    ['--map unknown', ['jvp', ...xy, '--dx', dx, '--out', o, '--map', 'cs'], /--map: got 'cs', expected S \(the ssim variant's maps\)/],
    ['several maps, no --map', ['jvp', ...xy, '--dx', dx, '--out', o, '--variant', 'ms-ssim', '--weights', '0.4,0.6'], /--map: the ms-ssim variant has 2 maps \(cs0, S1\); name the one --out writes/],
    ['--out not .npy', ['jvp', ...xy, '--dx', dx, '--out', join(d, 't.txt')], /--out: got '.*t\.txt', expected a file name ending in \.npy/],
    ['bad variant option', ['jvp', ...xy, '--dx', dx, '--out', o, '--lambda', '0.3'], /lambda \(--lambda\): only the 3dgs-loss variant takes lambda/],
    ['bad --wrt', ['hvp', ...xy, '--v', dx, '--wrt', 'z', '--out', o], /^ssim-grad hvp: --wrt: got 'z', expected x, y or both/],
    ['hvp without a vector', ['hvp', ...xy, '--out', o], /--v: required, the vector/],
    ['--v and --vx', ['hvp', ...xy, '--v', dx, '--vx', dx, '--out', o], /--v: conflicts with --vx/],
    ['--v with --wrt both', ['hvp', ...xy, '--v', dx, '--wrt', 'both', '--out', o, '--out-y', join(d, 'oy.npy')], /--v: with --wrt both, give the vector by image/],
    ['--v of another shape', ['hvp', ...xy, '--v', wrong, '--out', o], /--v: .*wrong\.npy has shape \[3, 48, 63\]/],
    ['--vy not finite', ['hvp', ...xy, '--vx', dx, '--vy', nan, '--out', o], /--vy: .*nan\.npy: value at flat index 7 is NaN/],
    ['hvp without --out', ['hvp', ...xy, '--v', dx], /--out: required, the \.npy file to write the Hessian-vector product to/],
    ['--wrt both without --out-y', ['hvp', ...xy, '--vx', dx, '--wrt', 'both', '--out', o], /--out-y: required with --wrt both/],
    ['--out-y without --wrt both', ['hvp', ...xy, '--v', dx, '--out', o, '--out-y', join(d, 'oy.npy')], /--out-y: only with --wrt both/],
    ['--out-y the same as --out', ['hvp', ...xy, '--vx', dx, '--wrt', 'both', '--out', o, '--out-y', o], /--out-y: got '.*o\.npy', the same file as --out/],
    ['--out-y in a folder that does not exist', ['hvp', ...xy, '--vx', dx, '--wrt', 'both', '--out', o, '--out-y', join(d, 'missing', 'oy.npy')], /oy\.npy: cannot write .*nothing was written/],
    ['an image of another shape', ['hvp', EXAMPLE_X, wrong, '--v', dx, '--out', o], /wrong\.npy: shape \[3,48,63\] differs from/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const before = readdirSync(d).sort();
    const r = await cliInProcess(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(readdirSync(d).sort()).toEqual(before);
  });

  it('a user\'s variant file: a bad option of its own is exit 2 from its process, nothing written', async () => {
    const before = readdirSync(d).sort();
    const r = await cliInProcess(['hvp', ...xy, '--v', dx, '--out', o, '--variant-file', MASKED]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/mask/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(d).sort()).toEqual(before);
  });

  it('--help lists jvp and hvp, and each command\'s help its flags', async () => {
    const top = await ok(['--help']);
    expect(top).toMatch(/ssim-grad jvp X Y --dx DX \[--dy DY\]/);
    expect(top).toMatch(/ssim-grad hvp X Y \(--v V \| --vx VX \[--vy VY\]\) \[--wrt x\|y\|both\]/);
    const jvp = await ok(['jvp', '--help']);
    for (const flag of ['--dx', '--dy', '--out', '--map', '--arith', '--variant-file', '--preset']) expect(jvp).toContain(flag);
    const hvp = await ok(['hvp', '--help']);
    for (const flag of ['--v', '--vx', '--vy', '--wrt', '--out', '--out-y', '--arith']) expect(hvp).toContain(flag);
  });
});
