/**
 * The browser build (`npm run build` runs it after tsc; `prepare` runs that on `npm ci`): esbuild
 * bundles of src/browser into dist/web/, every one for the browser platform (a Node built-in is a
 * build error, and test/browser/bundle.test.ts scans the metafiles too):
 *
 *   ssim-grad.js   the `ssim-grad/browser` ES module (src/browser/index.ts)
 *   ssim.js        `ssim-grad/browser/ssim`: SSIM's value and gradient alone (the size budget)
 *   worker.js      the web workers' script (src/browser/worker.ts), a classic script
 *   page.js        the page's script (src/browser/page/page.ts), a classic script, so the page opens
 *                  from file:// too; index.html and page.css beside it; pair.js, the built-in pair
 *
 * `npx tsx scripts/build-browser.ts` alone rebuilds dist/web.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src', 'browser');
export const WEB_DIR = join(ROOT, 'dist', 'web');

/**
 * The URL of the running script in a classic script (a page's or a worker's), where an ES module has
 * import.meta.url: the workers' script and the library are found beside it.
 */
const SCRIPT_URL_BANNER =
  "var __ssimGradScriptUrl = (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) || (typeof location !== 'undefined' ? location.href : undefined);";

const common: BuildOptions = { bundle: true, platform: 'browser', target: 'es2022', minify: true, legalComments: 'none', logLevel: 'warning', metafile: true };
const classic: BuildOptions = { ...common, format: 'iife', banner: { js: SCRIPT_URL_BANNER }, define: { 'import.meta.url': '__ssimGradScriptUrl' } };

/** The bundles, by output file name. */
export const BROWSER_BUNDLES: Readonly<Record<string, BuildOptions>> = {
  'ssim-grad.js': { ...common, format: 'esm', entryPoints: [join(SRC, 'index.ts')] },
  'ssim.js': { ...common, format: 'esm', entryPoints: [join(SRC, 'ssim.ts')] },
  'worker.js': { ...classic, entryPoints: [join(SRC, 'worker.ts')] },
  'page.js': { ...classic, entryPoints: [join(SRC, 'page', 'page.ts')] },
};

/** The built-in pair (examples/pair) as a classic script: the page offers it without fetching (file:// has no fetch). */
function pairScript(): string {
  const b64 = (f: string): string => readFileSync(join(ROOT, 'examples', 'pair', f)).toString('base64');
  return `self.SSIM_GRAD_PAIR = { x: ${JSON.stringify(b64('x.png'))}, y: ${JSON.stringify(b64('y.png'))} };\n`;
}

/** Builds every bundle into `dir`; returns each one's metafile. */
export async function buildBrowser(dir = WEB_DIR): Promise<Record<string, Metafile>> {
  mkdirSync(dir, { recursive: true });
  const metas: Record<string, Metafile> = {};
  await Promise.all(
    Object.entries(BROWSER_BUNDLES).map(async ([name, options]) => {
      const r = await build({ ...options, outfile: join(dir, name) });
      metas[name] = r.metafile!;
    }),
  );
  for (const f of ['index.html', 'page.css']) copyFileSync(join(SRC, 'page', f), join(dir, f));
  writeFileSync(join(dir, 'pair.js'), pairScript());
  return metas;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  await buildBrowser();
  console.log(`built dist/web (${Object.keys(BROWSER_BUNDLES).join(', ')}, index.html, page.css, pair.js) in ${(performance.now() - t0).toFixed(0)} ms`);
}
