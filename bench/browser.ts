/**
 * `npm run bench -- browser [--runs N] [--no-gpu]`: ssim-grad in chromium (Debian's, headless,
 * playwright-core; WebGPU on SwiftShader, a software adapter, where no GPU is exposed) beside ssim.js
 * in the same page on the same images, at 512 x 512 and 1080 x 1920 (gray): value and value + both
 * gradients on the CPU kernels (one thread; web workers, the page cross-origin isolated by serve's
 * server) and on WebGPU, medians of the timed runs. Prints one markdown table with the ratios
 * (ssim.js's median over ours) and the machine's load.
 */
import { cpus } from 'node:os';
import { mkdtempSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { buildBrowser } from '../scripts/build-browser.js';
import { pageServer } from '../src/cli/serve.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/browser.js';
import { machineLoad } from './measure.js';
import type { BrowserTiming } from './browser-page.js';

const ROOT = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const runsArg = argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(argv[runsArg + 1]) : 5;
const GPU = !argv.includes('--no-gpu');

const loadBefore = machineLoad();
const root = mkdtempSync(join(tmpdir(), 'ssim-grad-bench-web-'));
const web = join(root, 'dist', 'web');
await buildBrowser(web);
await build({ entryPoints: [join(ROOT, 'bench', 'browser-page.ts')], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, outfile: join(web, 'bench.js'), logLevel: 'warning' });
writeFileSync(join(web, 'bench.html'), '<!doctype html><meta charset="utf-8"><title>ssim-grad bench</title><script src="bench.js"></script>\n');
mkdirSync(join(root, 'examples'));
symlinkSync(join(ROOT, 'examples', 'pair'), join(root, 'examples', 'pair'));
const server = pageServer(root);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(`${origin}/dist/web/bench.html`);
const info = await page.evaluate(async () => {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  return { ua: navigator.userAgent, threads: navigator.hardwareConcurrency, isolated: crossOriginIsolated, adapter: adapter ? [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ') || 'an adapter' : null };
});

const sizes: Array<[number, number, number, number]> = [[512, 512, RUNS, 2], [1080, 1920, Math.max(3, Math.ceil(RUNS / 2)), 1]];
const table: string[] = ['| size | measurement | median | min | runs | value | ssim.js \'fast\' / this | ssim.js \'weber\' / this |', '|---|---|---|---|---|---|---|---|'];
for (const [H, W, runs, warmup] of sizes) {
  const rows = await page.evaluate(async ([h, w, r, wu, g]) => (globalThis as unknown as { benchSize(...a: unknown[]): Promise<BrowserTiming[]> }).benchSize(h, w, r, wu, g), [H, W, runs, warmup, GPU && info.adapter !== null] as const);
  const fast = rows.find((r) => r.what.includes("'fast'"))!.median;
  const weber = rows.find((r) => r.what.includes("'weber'"))!.median;
  for (const r of rows) {
    const peer = r.what.startsWith('ssim.js');
    table.push(`| ${H}x${W} | ${r.what} | ${r.median.toFixed(1)} ms | ${r.min.toFixed(1)} ms | ${r.runs} | ${r.value.toFixed(6)} | ${peer ? '' : `${(fast / r.median).toFixed(2)}x`} | ${peer ? '' : `${(weber / r.median).toFixed(2)}x`} |`);
  }
}
await browser.close();
server.close();

console.log(`ssim-grad in the browser, ${new Date().toISOString().slice(0, 10)}, ${info.ua.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? info.ua}, ${cpus().length} cpus (${cpus()[0]?.model.trim()}), navigator.hardwareConcurrency ${info.threads}, cross-origin isolated ${info.isolated}, WebGPU adapter: ${info.adapter ?? 'none'}`);
console.log(`gray images, pytorch-msssim's SSIM (Gaussian 11, sigma 1.5, 'valid', L = 255: ssim.js's window), medians of the timed runs after warm-up; a ratio above 1 is ssim-grad faster`);
console.log(`machine before: ${loadBefore}`);
console.log(`machine after:  ${machineLoad()}`);
console.log('');
console.log(table.join('\n'));
