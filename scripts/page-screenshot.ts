/**
 * `npx tsx scripts/page-screenshot.ts`: docs/browser-page.png, the README's picture of the page: the
 * page built and served as `ssim-grad serve` serves it, the built-in pair, and the seed's gradient
 * (examples/seed, made here in Node) dropped as the candidate, in Debian's chromium.
 */
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildBrowser } from './build-browser.js';
import { pageServer } from '../src/cli/serve.js';
import { readTensor } from '../src/io/files.js';
import { formatNpy } from '../src/io/npy.js';
import { gradient } from '../examples/seed/gradient.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/browser.js';

const ROOT = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'ssim-grad-shot-'));
await buildBrowser(join(root, 'dist', 'web'));
mkdirSync(join(root, 'examples'));
symlinkSync(join(ROOT, 'derivations'), join(root, 'derivations'));
symlinkSync(join(ROOT, 'examples', 'pair'), join(root, 'examples', 'pair'));
const server = pageServer(root);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const x = readTensor(join(ROOT, 'examples', 'pair', 'x.png'));
const y = readTensor(join(ROOT, 'examples', 'pair', 'y.png'));
const g = gradient(x, y);
const cand = join(root, 'seed-gradient.npy');
writeFileSync(cand, formatNpy({ shape: g.shape, data: Float64Array.from(g.data) }));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
await page.goto(`${origin}/`);
await page.click('#use-pair');
await page.waitForFunction(() => document.querySelectorAll('#presets tbody tr').length > 0 && document.body.dataset['busy'] === '0');
await page.setInputFiles('#file-cand', cand);
await page.waitForFunction(() => (document.getElementById('verdict-line')?.textContent ?? '') !== '' && document.body.dataset['busy'] === '0');
mkdirSync(join(ROOT, 'docs'), { recursive: true });
await page.screenshot({ path: join(ROOT, 'docs', 'browser-page.png'), fullPage: true });
await browser.close();
server.close();
console.log('wrote docs/browser-page.png');
