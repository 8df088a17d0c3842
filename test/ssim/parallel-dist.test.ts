/**
 * The worker threads load both ways ssim-grad runs: from the compiled build (plain node, worker.js)
 * and from the TypeScript sources under tsx (worker.ts through its bootstrap). Each run is its own
 * process that never ends the pool, so it also shows that idle workers do not keep a process alive.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
// inside the checkout (ignored /tmp/), so that the build resolves the project's node_modules and package.json
const DIR = join(ROOT, 'tmp', `parallel-dist-${process.pid}`);
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

/** A script comparing ssimGradAsync on 2 threads with ssimGrad, bit for bit, importing the library from `lib`. */
const script = (lib: string): string => `
import { ssimGrad, ssimGradAsync, ssimAsync, ssim } from ${JSON.stringify(lib)};
const shape = [3, 61, 47];
const n = 3 * 61 * 47;
const x = { shape, data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.731)) };
const y = { shape, data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.731 + 0.4)) };
const one = ssimGrad(x, y);
const many = await ssimGradAsync(x, y, {}, { threads: 2, minPixels: 0 });
let differ = 0;
for (let i = 0; i < n; i++) if (!Object.is(one.gradX.data[i], many.gradX.data[i]) || !Object.is(one.gradY.data[i], many.gradY.data[i])) differ++;
const v = await ssimAsync(x, y, {}, { threads: 3, minPixels: 0 });
console.log(JSON.stringify({ value: Object.is(one.ssim, many.ssim) && Object.is(v, ssim(x, y)), differ, shared: many.gradX.data.buffer instanceof SharedArrayBuffer }));
`;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('worker threads load from the build and from the sources, and let the process exit', () => {
  it('compiled build (tsc -p tsconfig.build.json), plain node', () => {
    mkdirSync(DIR, { recursive: true });
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(DIR, 'dist')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    writeFileSync(join(DIR, 'dist-check.mjs'), script('./dist/index.js'));
    const r = run([join(DIR, 'dist-check.mjs')]);
    // status 0 within the timeout: the script returned and its idle, unref'd workers did not hold the process
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: true, differ: 0, shared: false });
  });

  it('TypeScript sources under tsx', () => {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, 'src-check.ts'), script('../../src/index.js'));
    const r = run(['--import', 'tsx', join(DIR, 'src-check.ts')]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: true, differ: 0, shared: false });
  });
});
