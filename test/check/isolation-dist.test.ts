/**
 * The candidate's child process also starts when the CLI runs from the compiled build
 * (bin/ssim-grad.js -> dist/cli.js), as an installed package does: the build is made into a
 * temporary package folder laid out as the published files (dist, bin, src) are.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_X, EXAMPLE_Y } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
// inside the repository (ignored by git), so that the build finds node_modules as an installed package does
const PKG = join(ROOT, 'tmp', `dist-test-${process.pid}`);

beforeAll(() => {
  rmSync(PKG, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(PKG, 'dist'), '--declaration', 'false', '--sourceMap', 'false'], {
    encoding: 'utf8',
  });
  if (tsc.status !== 0) throw new Error(`the build failed: ${tsc.stdout}${tsc.stderr}`);
  mkdirSync(join(PKG, 'src/check'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(PKG, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'src/check/candidate-child.mjs'), join(PKG, 'src/check/candidate-child.mjs'));
  cpSync(join(ROOT, 'package.json'), join(PKG, 'package.json'));
}, 300_000);

afterAll(() => rmSync(PKG, { recursive: true, force: true }));

/** Runs the built CLI from another folder, as a user of the installed package would. */
const built = (args: string[]) => spawnSync(process.execPath, [join(PKG, 'bin/ssim-grad.js'), ...args], { cwd: tmpdir(), encoding: 'utf8' });

describe('from the compiled build', () => {
  it('a TypeScript candidate runs (in its child) and is a match', () => {
    const r = built(['check', join(ROOT, 'examples/seed/correct.ts'), EXAMPLE_X, EXAMPLE_Y, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('match');
  });

  it('process.exit in a JavaScript candidate is exit 2 naming it, nothing on stdout', () => {
    const quits = join(PKG, 'quits.mjs');
    writeFileSync(quits, "export function gradient() { console.log('bye'); process.exit(0); }");
    const r = built(['check', quits, EXAMPLE_X, EXAMPLE_Y, '--json']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^ssim-grad check: \S*quits\.mjs: the candidate exited with code 0 before returning a gradient/);
  });

  it('a --variant-file runs in its child from the build: its prints kept out of --json, a loop in its loss stopped by --timeout', () => {
    const chatty = join(PKG, 'chatty.mjs');
    writeFileSync(chatty, "console.log('hi'); export default { name: 'chatty', summary: 's', loss: ({ x, y, g }) => { console.log('loss'); return g.ssim(x, y); } };\n");
    const r = built(['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', chatty, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout).variant).toBe('chatty');
    const spins = join(PKG, 'spins.mjs');
    writeFileSync(spins, "export default { name: 'spins', summary: 's', loss: () => { for (;;) {} } };\n");
    const s = built(['value', EXAMPLE_X, EXAMPLE_Y, '--variant-file', spins, '--timeout', '1']);
    expect(s.stdout).toBe('');
    expect(s.status).toBe(2);
    expect(s.stderr.trim()).toMatch(/^ssim-grad value: --variant-file: '\S*spins\.mjs': its loss ran past --timeout 1 s and was stopped/);
  });
});
