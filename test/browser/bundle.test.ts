/**
 * The browser bundles (scripts/build-browser.ts): none imports a Node built-in (esbuild's metafile:
 * every input and every import it resolved; and the output text), the SSIM value and gradient
 * alone (`ssim-grad/browser/ssim`) fit the README's budget minified, without the derivation
 * printers, the checker or mathjs, and the built ES modules compute what the library computes in
 * Node (imported here from the build output).
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBrowser, BROWSER_BUNDLES } from '../../scripts/build-browser.js';
import { readTensor } from '../../src/io/files.js';
import { ssim, ssimGrad } from '../../src/runtime/ssim.js';
import { checkGradient } from '../../src/check/diagnose.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The budget the README states for `ssim-grad/browser/ssim`, minified. */
const SSIM_BUDGET_BYTES = 150_000;

const X = readTensor(join(ROOT, 'examples', 'pair', 'x.png'));
const Y = readTensor(join(ROOT, 'examples', 'pair', 'y.png'));

/** A Node built-in named by an import path: node:*, or a bare name of one (fs, worker_threads, fs/promises). */
const isBuiltin = (p: string): boolean => p.startsWith('node:') || builtinModules.includes(p) || builtinModules.includes(p.split('/')[0]!);

describe('the browser bundles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-bundle-'));
  let metas: Record<string, Metafile> = {};

  beforeAll(async () => {
    metas = await buildBrowser(dir);
  }, 60_000);

  it('import no Node built-in: not in any input, not among the imports esbuild resolved, not in the output', () => {
    expect(Object.keys(metas).sort()).toEqual(Object.keys(BROWSER_BUNDLES).sort());
    for (const [name, meta] of Object.entries(metas)) {
      const bad: string[] = [];
      for (const [input, info] of Object.entries(meta.inputs)) {
        if (isBuiltin(input)) bad.push(input);
        for (const imp of info.imports) if (isBuiltin(imp.path)) bad.push(`${input} imports ${imp.path}`);
      }
      // the output imports nothing at all (everything is bundled; the workers' script is found by URL)
      for (const out of Object.values(meta.outputs)) for (const imp of out.imports) bad.push(`output imports ${imp.path}`);
      expect(bad, name).toEqual([]);
      const text = readFileSync(join(dir, name), 'utf8');
      expect(text, name).not.toMatch(/["'`]node:[a-z_]+/);
      expect(text, name).not.toMatch(/\brequire\(\s*["'`]/);
      expect(text, name).not.toMatch(new RegExp(`(?:from|import\\()\\s*["'\`](?:${builtinModules.map((m) => m.replace('/', '\\/')).join('|')})["'\`]`));
    }
  });

  it(`ssim-grad/browser/ssim (value and gradient alone) is at most ${SSIM_BUDGET_BYTES / 1000} kB minified, without the checker, the derivations or mathjs`, () => {
    const bytes = statSync(join(dir, 'ssim.js')).size;
    const full = statSync(join(dir, 'ssim-grad.js')).size;
    console.log(`browser bundles, minified: ssim.js ${(bytes / 1000).toFixed(1)} kB (budget ${SSIM_BUDGET_BYTES / 1000} kB), ssim-grad.js ${(full / 1000).toFixed(1)} kB, worker.js ${(statSync(join(dir, 'worker.js')).size / 1000).toFixed(1)} kB, page.js ${(statSync(join(dir, 'page.js')).size / 1000).toFixed(1)} kB`);
    expect(bytes).toBeLessThanOrEqual(SSIM_BUDGET_BYTES);
    // what reached the output (the metafile's inputs list every file read, the tree-shaken too)
    const inputs = Object.values(metas['ssim.js']!.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k));
    expect(inputs).toContain('src/generated/ssim.ts');
    expect(inputs.filter((i) => /mathjs|katex|fast-check|src\/(derive|check|mistakes|expr\/latex|expr\/mathjs)|src\/generated\/(cs|wang|gsLoss)/.test(i))).toEqual([]);
    // the budget is the README's
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(`at most ${SSIM_BUDGET_BYTES / 1000} kB minified`);
  });

  it('compute what the library computes in Node (the built ES modules, imported)', async () => {
    const small = (await import(pathToFileURL(join(dir, 'ssim.js')).href)) as typeof import('../../src/browser/ssim.js');
    const full = (await import(pathToFileURL(join(dir, 'ssim-grad.js')).href)) as typeof import('../../src/browser/index.js');
    for (const options of [{}, { preset: 'skimage' as const, dataRange: 1 }, { preset: 'matlab' as const }]) {
      expect(small.ssim(X, Y, options)).toBe(ssim(X, Y, options));
      const a = small.ssimGrad(X, Y, options), b = ssimGrad(X, Y, options);
      expect(Array.from(a.gradX.data)).toEqual(Array.from(b.gradX.data));
      expect(full.ssim(X, Y, options)).toBe(ssim(X, Y, options));
    }
    expect(() => small.ssim(X, Y, { preset: 'skimage' })).toThrow(small.InputError);
    const g = ssimGrad(X, Y).gradX.data.map((v) => v * 1.01);
    const node = checkGradient({ x: X, y: Y, options: {}, wrt: 'x', candidate: g }).report;
    const bytes = full.formatNpy({ shape: X.shape, data: Float64Array.from(g) });
    const browser = full.checkCandidate({ x: X, y: Y, candidate: { name: 'g.npy', bytes } });
    expect(browser.report).toEqual(node);
    expect(browser.text).toMatch(/^verdict: MISMATCH/m);
  });
});
