/**
 * Candidate modules run isolated (issue 10): in a child process with a timeout, their output kept
 * out of ours, process.exit / a crash / a late throw / a promise that never settles an error with
 * one line and exit 2, the options carrying wrt, and the compiler's message and line for a module
 * that does not parse. check --help says what x, y and options are.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCandidate } from '../../src/check/candidate.js';
import { main } from '../../src/cli.js';
import { cli, EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-isolation-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr };
}

/** A zero gradient with X's shape: a valid tensor (a mismatch, exit 1), so only the isolation is under test. */
const ZERO = 'return { shape: x.shape, data: new Float64Array(x.data.length) };';

/** Alive and not a zombie (a killed child whose parent is gone may linger as Z until reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

function oneLineExit2(r: { status: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(message);
}

describe('a candidate module runs in a child process (spawned CLI)', () => {
  it("its stdout and stderr stay out of ours: --json is one valid JSON object, nothing of the candidate's on either stream", () => {
    const noisy = file('noisy.mjs', `export function gradient(x) { console.log('candidate says hello'); console.error('candidate warns'); process.stdout.write('{not json'); ${ZERO} }`);
    const r = cli(['check', noisy, EXAMPLE_X, EXAMPLE_Y, '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/candidate says hello|candidate warns|\{not json/);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('mismatch');
    expect(j.candidate).toBe(noisy);
  });

  it('process.exit(0) in the candidate is exit 2 "exited with code 0 before returning a gradient", not a match', () => {
    const quits = file('quits.mjs', "export function gradient() { console.log('bye'); process.exit(0); }");
    const r = cli(['check', quits, EXAMPLE_X, EXAMPLE_Y, '--json']);
    oneLineExit2(r, /quits\.mjs: the candidate exited with code 0 before returning a gradient.*its output ended: "bye"/);
  });

  it('--timeout: a busy loop is stopped after the timeout, with its process group (a grandchild too); exit 2 naming the timeout', () => {
    const pids = join(dir, 'pids.json');
    const busy = file(
      'busy.mjs',
      `import { spawn } from 'node:child_process';
       import { writeFileSync } from 'node:fs';
       export function gradient() {
         const g = spawn('sleep', ['300'], { stdio: 'ignore' });
         writeFileSync(${JSON.stringify(pids)}, JSON.stringify({ self: process.pid, grand: g.pid }));
         for (;;) {}
       }`,
    );
    const t0 = Date.now();
    const r = cli(['check', busy, EXAMPLE_X, EXAMPLE_Y, '--timeout', '1.5']);
    const seconds = (Date.now() - t0) / 1000;
    oneLineExit2(r, /busy\.mjs: --timeout 1\.5 s exceeded before gradient\(\) returned \(the candidate was stopped\)/);
    expect(seconds).toBeLessThan(60);
    const { self, grand } = JSON.parse(readFileSync(pids, 'utf8')) as { self: number; grand: number };
    expect(alive(self)).toBe(false);
    expect(alive(grand)).toBe(false);
  });
});

describe('a candidate module runs in a child process (in-process CLI)', () => {
  it.each([
    ['a promise that never settles', 'export function gradient() { return new Promise(() => {}); }', /never\.mjs: gradient\(\) returned a promise that never settles/, 'never.mjs'],
    [
      'a throw after returning',
      `export function gradient(x) { setTimeout(() => { throw new Error('late boom'); }, 20); ${ZERO} }`,
      /late\.mjs: gradient\(\) returned, then threw: late boom \(a late throw or unhandled rejection counts as an error\)/,
      'late.mjs',
    ],
    [
      'an unhandled rejection after returning',
      `export function gradient(x) { setTimeout(() => { Promise.reject(new Error('late reject')); }, 20); ${ZERO} }`,
      /rejects\.mjs: gradient\(\) returned, then threw: late reject/,
      'rejects.mjs',
    ],
    ['a crash (a signal) before returning', "export function gradient() { process.kill(process.pid, 'SIGKILL'); }", /crash\.mjs: the candidate was killed by SIGKILL before returning a gradient/, 'crash.mjs'],
    ['process.exit(3) in an async gradient', 'export async function gradient() { await null; process.exit(3); }', /exit3\.mjs: the candidate exited with code 3 before returning a gradient/, 'exit3.mjs'],
  ])('%s: exit 2, one line', async (_, text, message, name) => {
    const r = await run(['check', file(name, text), EXAMPLE_X, EXAMPLE_Y]);
    oneLineExit2(r, message);
    expect(r.stderr).toMatch(/^ssim-grad check: /);
  });

  it('a never-settling promise kept alive by a timer is stopped by --timeout (trace --candidate too)', async () => {
    const stuck = file('stuck.mjs', 'export function gradient() { return new Promise(() => { setInterval(() => {}, 1000); }); }');
    oneLineExit2(await run(['check', stuck, EXAMPLE_X, EXAMPLE_Y, '--timeout', '1']), /stuck\.mjs: --timeout 1 s exceeded/);
    const t = await run(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,1,2,3', '--candidate', stuck, '--timeout', '1']);
    oneLineExit2(t, /^ssim-grad trace: .*stuck\.mjs: --timeout 1 s exceeded/);
  });

  it('a candidate that keeps a timer open after returning is still a result (stopped after a short grace)', async () => {
    const open = file('open.mjs', `export function gradient(x) { setInterval(() => {}, 1000); ${ZERO} }`);
    const r = await run(['check', open, EXAMPLE_X, EXAMPLE_Y, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).verdict).toBe('mismatch');
  });

  it.each([
    ['0', /--timeout: got '0', expected a positive number of seconds/],
    ['-1', /--timeout: got '-1', expected a positive number/],
    ['soon', /--timeout: got 'soon', expected a positive number/],
    ['1e12', /--timeout: got '1e12', expected a positive number of seconds \(at most \d+\)/],
  ])('--timeout %s: exit 2 naming the option', async (value, message) => {
    oneLineExit2(await run(['check', join(ROOT, 'examples/seed/correct.ts'), EXAMPLE_X, EXAMPLE_Y, '--timeout', value]), message);
    oneLineExit2(await run(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,0,0', '--timeout', value]), message);
  });
});

describe('what a candidate is handed', () => {
  it('options include wrt (x by default, y with --wrt y), with the preset filled; check and trace alike', async () => {
    const tell = file('tell.mjs', 'export function gradient(x, y, o) { throw new Error(JSON.stringify({ wrt: o.wrt, preset: o.preset, size: o.size, shape: x.shape })); }');
    const seen = (r: { stderr: string }): unknown => JSON.parse(/gradient\(\) threw: (\{.*\})$/.exec(r.stderr.trim())![1]!);
    expect(seen(await run(['check', tell, EXAMPLE_X, EXAMPLE_Y]))).toEqual({ wrt: 'x', preset: 'pytorch-ssim', size: 11, shape: [3, 48, 64] });
    expect(seen(await run(['check', tell, EXAMPLE_X, EXAMPLE_Y, '--wrt', 'y', '--preset', 'skimage', '--data-range', '1']))).toEqual({ wrt: 'y', preset: 'skimage', size: 7, shape: [3, 48, 64] });
    expect(seen(await run(['trace', EXAMPLE_X, EXAMPLE_Y, '--pixel', '0,1,2', '--wrt', 'y', '--candidate', tell]))).toMatchObject({ wrt: 'y' });
  });

  it('a candidate that returns d ssim/d(options.wrt) (here the library\'s own) is a match for --wrt x and --wrt y', async () => {
    const exact = file(
      'exact.ts',
      `import { ssimGrad } from ${JSON.stringify(join(ROOT, 'src/index.js'))};
       export function gradient(x: any, y: any, options: any) {
         const { wrt, ...o } = options;
         const g = ssimGrad(x, y, o);
         return wrt === 'y' ? g.gradY : g.gradX;
       }`,
    );
    for (const wrt of ['x', 'y']) {
      const r = await run(['check', exact, EXAMPLE_X, EXAMPLE_Y, '--wrt', wrt, '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).verdict).toBe('match');
      expect(r.status).toBe(0);
    }
  });

  it('check --help says what x, y and options are: shapes as stored, wrt, d ssim not d loss, and --timeout', async () => {
    const r = await run(['check', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}x, y {5}the images as stored in the files: \{shape, data\}, shape HW, CHW or NCHW as given/m);
    expect(r.stdout).toMatch(/^ {2}options {2}every SSIM option filled from the preset/m);
    expect(r.stdout).toMatch(/wrt \('x' or 'y'\)/);
    expect(r.stdout).toMatch(/d ssim, not of a loss 1 - ssim/);
    expect(r.stdout).toMatch(/^ {2}--timeout VALUE +seconds a candidate module may take .* \(default: 60\)$/m);
    expect((await run(['trace', '--help'])).stdout).toMatch(/^ {2}--timeout VALUE/m);
  });
});

describe('the tensors cross the process boundary intact (library: loadCandidate)', () => {
  const x = { shape: [2, 3, 4], data: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i) / 3) };
  const y = { shape: [2, 3, 4], data: Float64Array.from({ length: 24 }, (_, i) => Math.cos(i) / 7) };

  it('x and y arrive with their values and element type; a Float32Array back is flagged float32, exactly', async () => {
    const echo = file('echo.mjs', 'export function gradient(x, y) { return { shape: x.shape, data: Float32Array.from(x.data, (v, i) => v - y.data[i]) }; }');
    const r = await loadCandidate(echo, x, y, {}, { timeoutS: 30 });
    expect(r.source).toBe('module');
    expect(r.float32).toBe(true);
    expect(Array.from(r.data)).toEqual(Array.from(x.data, (v, i) => Math.fround(v - y.data[i]!)));
    const x32 = { shape: x.shape, data: Float32Array.from(x.data) };
    const kind = file('kind.mjs', 'export function gradient(x) { throw new Error(x.data.constructor.name + " " + x.data[1]); }');
    await expect(loadCandidate(kind, x32, y, {})).rejects.toThrow(new RegExp(`gradient\\(\\) threw: Float32Array ${Math.fround(x.data[1]!)}$`));
  });

  it('a plain array of numbers is taken (float64); a non-number in it is named by its index', async () => {
    const plain = file('plain.mjs', 'export function gradient(x, y) { return { shape: [...x.shape], data: Array.from(x.data, (v, i) => 2 * v + y.data[i]) }; }');
    const r = await loadCandidate(plain, x, y, {});
    expect(r.float32).toBe(false);
    expect(Array.from(r.data)).toEqual(Array.from(x.data, (v, i) => 2 * v + y.data[i]!));
    const bad = file('str.mjs', "export function gradient(x) { const d = Array.from(x.data); d[7] = 'oops'; return { shape: x.shape, data: d }; }");
    await expect(loadCandidate(bad, x, y, {})).rejects.toThrow(/str\.mjs: gradient\(\): value at flat index 7 is string oops, expected a finite number/);
  });
});

describe('a module that does not load shows the compiler\'s message and line', () => {
  it('JavaScript: node\'s SyntaxError with file:line:column and the line', async () => {
    const bad = file('syntax-line.mjs', 'export const a = 1;\nexport function gradient(x) {\n  return x +* 2;\n}\n');
    oneLineExit2(await run(['check', bad, EXAMPLE_X, EXAMPLE_Y]), /syntax-line\.mjs: cannot load the module \(SyntaxError: Unexpected token '\*' \(syntax-line\.mjs:3:13: return x \+\* 2;\)\)$/);
  });

  it('an error in a module it imports names that module', async () => {
    file('dep-bad.mjs', 'export const b = (;\n');
    const imp = file('imports-bad.mjs', "import './dep-bad.mjs';\nexport function gradient() {}\n");
    oneLineExit2(await run(['check', imp, EXAMPLE_X, EXAMPLE_Y]), /imports-bad\.mjs: cannot load the module \(SyntaxError: .*\(dep-bad\.mjs:1:\d+/);
  });

  it('TypeScript: esbuild\'s message with file:line:column', async () => {
    const bad = file('syntax.ts', 'const a: number = 1;\nexport function gradient(x: number {\n  return a;\n}\n');
    oneLineExit2(await run(['check', bad, EXAMPLE_X, EXAMPLE_Y]), /syntax\.ts: cannot load the module \(Expected "\)" but found "\{" \(syntax\.ts:2:35\)\)$/);
  });
});
