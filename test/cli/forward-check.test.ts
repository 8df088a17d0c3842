/**
 * `check --jvp CAND X Y --dx DX [--dy DY]` and `check --hvp CAND X Y --v V [--wrt x|y]` on the
 * command line: .npy candidates (the PyTorch float32 fixtures of scripts/make_jvp_check_fixtures.py),
 * modules run isolated as gradient candidates are (what they are handed; a hang, a wrong shape, NaN,
 * a throw, output of their own), --json, exit codes 0 / 1 / 2 and bad input.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTensor, writeNpy } from '../../src/io/index.js';
import { cliInProcess as run } from '../support/cli.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'jvp-check');
const f = (name: string): string => join(FIX, `${name}.npy`);
const IMAGES = [f('x'), f('y')];
const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-forward-check-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function oneLineExit2(r: { status: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(message);
}

describe('check --jvp', () => {
  it("PyTorch's float32 JVP is a MATCH (exit 0), its per-pixel chain rule a MISMATCH naming it (exit 1)", async () => {
    const ok = await run(['check', '--jvp', f('jvp-torch32'), ...IMAGES, '--dx', f('dx'), '--dy', f('dy')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/verdict: MATCH, the difference is float32 rounding/);
    const bad = await run(['check', '--jvp', f('jvp-per-pixel32'), ...IMAGES, '--dx', f('dx'), '--dy', f('dy')]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/verdict: MISMATCH/);
    expect(bad.stdout).toMatch(/\* per-pixel chain rule: the window missing from the tangent: the candidate equals this mistake/);
  });

  it('--json: one object in the check report\'s style, with mode, the two JVPs and the directions', async () => {
    const r = await run(['check', '--jvp', f('jvp-torch32-dx'), ...IMAGES, '--dx', f('dx'), '--dy', f('dy'), '--json']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ mode: 'jvp', verdict: 'mismatch', candidate: f('jvp-torch32-dx'), x: f('x'), y: f('y'), dx: f('dx'), dy: f('dy'), candidateIsFloat32: true });
    expect(j.jvp.candidate).toBe(readTensor(f('jvp-torch32-dx')).data[0]);
    expect(j.jvp.dy).toBe(true);
    for (const k of ['maxAbsError', 'l2Error', 'relError', 'maxAbsExact', 'roundingFloor', 'allowance', 'errorOverFloor', 'scale', 'mistakeTolerance', 'mistakes', 'diagnosis', 'configuration']) expect(j).toHaveProperty(k);
    expect(j.diagnosis[0].kind).toBe('dy-ignored');
    expect(j.mistakes[0]).toMatchObject({ kind: 'dy-ignored', matched: 'as-is' });
  });

  it('a module gets x, y, dx, dy (null without --dy) and the options; its number is judged (its own output kept out of ours)', async () => {
    const seen = join(dir, 'seen.json');
    const exact = readTensor(f('jvp-torch32-dx')).data[0]!;
    const m = file(
      'jvp.mjs',
      `import { writeFileSync } from 'node:fs';
       export function jvp(x, y, dx, dy, options) {
         console.log('candidate says hello');
         writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ x: x.shape, y: y.shape, dx: dx.shape, dxType: dx.data.constructor.name, dy, preset: options.preset, size: options.size }));
         return ${exact};
       }`,
    );
    const r = await run(['check', '--jvp', m, ...IMAGES, '--dx', f('dx'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('match');
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({ x: [1, 3, 16, 20], y: [1, 3, 16, 20], dx: [1, 3, 16, 20], dxType: 'Float32Array', dy: null, preset: 'pytorch-ssim', size: 11 });
  });

  it.each([
    ['a hang', 'export function jvp() { for (;;) {} }', /hang\.mjs: --timeout 1 s exceeded before jvp\(\) returned \(the candidate was stopped\)/],
    ['NaN', 'export function jvp() { return NaN; }', /nan\.mjs: jvp\(\): the JVP is NaN, expected a finite number/],
    ['two numbers', 'export function jvp() { return { shape: [2], data: [1, 2] }; }', /two\.mjs: jvp\(\): shape \[2\] holds 2 values, expected one number/],
    ['a throw', "export function jvp() { throw new Error('boom'); }", /throw\.mjs: jvp\(\) threw: boom/],
    ['no jvp export', 'export function gradient() { return 0; }', /nojvp\.mjs: exports no function 'jvp' \(expected export function jvp\(x, y, dx, dy, options\) returning a number\)/],
  ])('%s: exit 2, one line', async (_, text, message) => {
    const name = message.source.split('\\.')[0]!;
    const r = await run(['check', '--jvp', file(`${name}.mjs`, text), ...IMAGES, '--dx', f('dx'), '--timeout', '1']);
    oneLineExit2(r, message);
  });

  it.each([
    [['--dy', f('dy')], /--dx: required with --jvp/],
    [['--dx', f('jvp-torch32')], /--dx .*jvp-torch32\.npy: shape \[\] differs from .*x\.npy's shape \[1, 3, 16, 20\]/],
    [['--dx', f('dx'), '--wrt', 'y'], /--wrt: not with --jvp/],
    [['--dx', f('dx'), '--hvp'], /--jvp and --hvp: give one/],
  ])('bad input %j: exit 2', async (extra, message) => {
    oneLineExit2(await run(['check', '--jvp', f('jvp-torch32'), ...IMAGES, ...extra]), message);
  });

  it('a --variant-file variant: a JVP by central differences of its value (the value command) is a MATCH; 1 + 1e-3 times it a MISMATCH', async () => {
    const variant = join(import.meta.dirname, '..', '..', 'examples', 'variants', 'luma-ssim.ts');
    const [x, y, dx, dy] = [readTensor(f('x')), readTensor(f('y')), readTensor(f('dx')), readTensor(f('dy'))];
    const h = 1e-3;
    const valueAt = async (s: number): Promise<number> => {
      const at = (t: typeof x, d: typeof x, name: string): string => {
        const p = join(dir, `${name}-${s}.npy`);
        writeNpy(p, t.shape, Float64Array.from(t.data, (u, i) => u + s * d.data[i]!)); // float64: the fixtures are float32 arrays
        return p;
      };
      const r = await run(['value', at(x, dx, 'x'), at(y, dy, 'y'), '--variant-file', variant, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).value as number;
    };
    const [m2, m1, p1, p2] = await Promise.all([-2 * h, -h, h, 2 * h].map(valueAt));
    const jvp = (8 * (p1! - m1!) - (p2! - m2!)) / (12 * h);
    const write = (name: string, v: number): string => {
      const p = join(dir, name);
      writeNpy(p, [1], Float64Array.of(Math.fround(v)));
      return p;
    };
    const args = [...IMAGES, '--dx', f('dx'), '--dy', f('dy'), '--variant-file', variant, '--json'];
    const ok = await run(['check', '--jvp', write('jvp-luma.npy', jvp), ...args]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ mode: 'jvp', verdict: 'match' });
    const bad = await run(['check', '--jvp', write('jvp-luma-off.npy', jvp * (1 + 1e-3)), ...args]);
    expect(bad.status, bad.stderr).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ mode: 'jvp', verdict: 'mismatch' });
  });

  it('a .npy that is not one number, and --dx without --jvp: exit 2', async () => {
    oneLineExit2(await run(['check', '--jvp', f('hvp-torch32'), ...IMAGES, '--dx', f('dx')]), /hvp-torch32\.npy: shape \[1, 3, 16, 20\] holds 960 values, expected one number/);
    oneLineExit2(await run(['check', f('hvp-torch32'), ...IMAGES, '--dx', f('dx')]), /--dx: only with --jvp/);
  });
});

describe('check --hvp', () => {
  it("PyTorch's float32 HVP is a MATCH; its HVP over detached partials names the map's second partials dropped", async () => {
    const ok = await run(['check', '--hvp', f('hvp-torch32'), ...IMAGES, '--v', f('v')]);
    expect(ok.status).toBe(0);
    const bad = await run(['check', '--hvp', f('hvp-gn32'), ...IMAGES, '--v', f('v'), '--json']);
    expect(bad.status).toBe(1);
    const j = JSON.parse(bad.stdout);
    expect(j).toMatchObject({ mode: 'hvp', wrt: 'x', v: f('v'), verdict: 'mismatch' });
    expect(j.diagnosis[0].kind).toBe('map-second-partials-dropped');
    expect(j.regions.band).toBe(5);
  });

  it('a module gets x, y, v and options.wrt; what it returns with the wrong shape is exit 2', async () => {
    const seen = join(dir, 'seen-hvp.json');
    const m = file(
      'hvp.mjs',
      `import { writeFileSync } from 'node:fs';
       export function hvp(x, y, v, options) {
         writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ v: v.shape, wrt: options.wrt }));
         return { shape: [1, 3, 16], data: new Float64Array(3 * 16) };
       }`,
    );
    oneLineExit2(await run(['check', '--hvp', m, ...IMAGES, '--v', f('v'), '--wrt', 'y']), /hvp\.mjs: hvp\(\): shape \[1, 3, 16\] differs from X's shape \[1, 3, 16, 20\]/);
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({ v: [1, 3, 16, 20], wrt: 'y' });
  });

  it('a module returning the fixture is a MATCH; a hang and NaN are exit 2', async () => {
    const h = Array.from(readTensor(f('hvp-torch32')).data);
    const ok = file('hvp-ok.mjs', `export function hvp(x) { return { shape: x.shape, data: Float32Array.from(${JSON.stringify(h)}) }; }`);
    const r = await run(['check', '--hvp', ok, ...IMAGES, '--v', f('v'), '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'match', candidateIsFloat32: true });
    oneLineExit2(await run(['check', '--hvp', file('hvp-hang.mjs', 'export async function hvp() { await new Promise((r) => setTimeout(r, 60000)); }'), ...IMAGES, '--v', f('v'), '--timeout', '1']), /--timeout 1 s exceeded before hvp\(\) returned/);
    oneLineExit2(
      await run(['check', '--hvp', file('hvp-nan.mjs', 'export function hvp(x) { const d = new Float64Array(x.data.length); d[7] = NaN; return { shape: x.shape, data: d }; }'), ...IMAGES, '--v', f('v')]),
      /hvp-nan\.mjs: hvp\(\): value at flat index 7 is NaN, expected a finite number/,
    );
  });

  it('--v is required, and --dx is not an HVP\'s', async () => {
    oneLineExit2(await run(['check', '--hvp', f('hvp-torch32'), ...IMAGES]), /--v: required with --hvp/);
    oneLineExit2(await run(['check', '--hvp', f('hvp-torch32'), ...IMAGES, '--v', f('v'), '--dx', f('dx')]), /--dx: with --jvp; an HVP's vector is --v/);
  });
});

describe('near-flat images: INCONCLUSIVE, exit 1, never a MATCH', () => {
  // x = 0.5 + 3e-6 (u - 0.5), y = x + 3e-6 (u' - 0.5), 24 x 24, seeded (mulberry32): float32 rounding of the JVP exceeds the JVP
  let a = 11;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = 24 * 24;
  const x = Float64Array.from({ length: n }, () => 0.5 + 3e-6 * (u() - 0.5));
  const y = x.map((v) => v + 3e-6 * (u() - 0.5));
  const d = Float64Array.from({ length: n }, () => u() - 0.5);
  const save = (name: string, shape: number[], data: Float64Array): string => {
    const p = join(dir, name);
    writeNpy(p, shape, data);
    return p;
  };
  const [fx, fy, fd] = [save('flat-x.npy', [24, 24], x), save('flat-y.npy', [24, 24], y), save('flat-d.npy', [24, 24], d)];

  it('check --jvp: the zero candidate is INCONCLUSIVE (exit 1, JSON verdict inconclusive); its diagnosis says how large rounding is', async () => {
    const zero = save('flat-zero.npy', [], Float64Array.of(0));
    const r = await run(['check', '--jvp', zero, fx, fy, '--dx', fd]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/verdict: INCONCLUSIVE, within the allowance/);
    expect(r.stdout).not.toMatch(/MATCH/);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/float32 rounding of the exact JVP is as large as \d+ % of it on these inputs, so a float32 candidate cannot be judged beyond that/);
    const j = JSON.parse((await run(['check', '--jvp', zero, fx, fy, '--dx', fd, '--json'])).stdout);
    expect(j.verdict).toBe('inconclusive');
    // and the JVP's negative (from the report's exact: any candidate but a match) is not a match either
    const neg = save('flat-neg.npy', [], Float64Array.of(-j.jvp.exact));
    const rn = await run(['check', '--jvp', neg, fx, fy, '--dx', fd]);
    expect(rn.status).toBe(1);
    expect(rn.stdout).not.toMatch(/verdict: MATCH/);
  });

  it('check --hvp and the gradient check: the zero candidate is not a MATCH (exit 1)', async () => {
    const zeros = save('flat-zeros.npy', [24, 24], new Float64Array(n));
    const h = await run(['check', '--hvp', zeros, fx, fy, '--v', fd]);
    expect(h.status).toBe(1);
    expect(h.stdout).not.toMatch(/verdict: MATCH/);
    const g = await run(['check', zeros, fx, fy]);
    expect(g.status).toBe(1);
    expect(g.stdout).toMatch(/verdict: INCONCLUSIVE/);
  });
});

describe('the float32 floor at extreme magnitudes: refused as the floor, with a rescale, not "loss is not a number"', () => {
  let a = 5;
  const u = (): number => {
    a = (a * 16807) % 2147483647;
    return a / 2147483647;
  };
  const n = 16 * 16;
  const base = { x: Float64Array.from({ length: n }, u), y: Float64Array.from({ length: n }, u), d: Float64Array.from({ length: n }, () => u() - 0.5) };
  const at = (s: number) => {
    const p = (k: 'x' | 'y' | 'd'): string => {
      const q = join(dir, `scale-${s}-${k}.npy`);
      writeNpy(q, [16, 16], base[k].map((v) => v * s));
      return q;
    };
    const zero = join(dir, `scale-${s}-zero.npy`);
    writeNpy(zero, [16, 16], new Float64Array(n));
    const zero0 = join(dir, `scale-${s}-zero0.npy`);
    writeNpy(zero0, [], Float64Array.of(0));
    return { x: p('x'), y: p('y'), d: p('d'), zero, zero0 };
  };

  it.each([
    ['--hvp', 1e-6, 'up'],
    ['--hvp', 1e8, 'down'],
    ['--jvp', 1e8, 'down'],
  ] as const)('check %s at scale %s (--data-range too): exit 2, the float32 floor named, scale %s', async (mode, s, way) => {
    const f = at(s);
    const args = mode === '--hvp' ? ['check', '--hvp', f.zero, f.x, f.y, '--v', f.d] : ['check', '--jvp', f.zero0, f.x, f.y, '--dx', f.d];
    const r = await run([...args, '--data-range', String(s)]);
    oneLineExit2(r, new RegExp(`the rounding floor \\(the exact ${mode === '--hvp' ? 'HVP' : 'JVP'} in float32 arithmetic against float64\\) is .* under these options; .*scale X, Y and --data-range ${way} by one factor`));
    expect(r.stderr).not.toMatch(/not a number|the gradient the/);
    // value works at that scale (the float64 evaluation is fine): only the float32 floor is out of range
    const v = await run(['value', f.x, f.y, '--data-range', String(s)]);
    expect(v.status).toBe(0);
  });
});

describe('small refusals', () => {
  it('--dx naming a missing file names --dx', async () => {
    oneLineExit2(await run(['check', '--jvp', f('jvp-torch32'), ...IMAGES, '--dx', join(dir, 'missing.npy')]), /--dx: .*missing\.npy.*cannot read/);
  });

  it('a JVP module returning one value under shape [1e308] is refused (the shape must be [] or [1])', async () => {
    const m = file('big-shape.mjs', 'export function jvp() { return { shape: [1e308], data: [0.1] }; }\n');
    oneLineExit2(await run(['check', '--jvp', m, ...IMAGES, '--dx', f('dx')]), /jvp\(\): shape \[1e\+308\] with one value, expected shape \[\] or \[1\]/);
    // [1] is one number, judged as such
    const ok = file('one-shape.mjs', 'export function jvp() { return { shape: [1], data: [0.1] }; }\n');
    expect((await run(['check', '--jvp', ok, ...IMAGES, '--dx', f('dx')])).status).toBe(1);
  });
});
