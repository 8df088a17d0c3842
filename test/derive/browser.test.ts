/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The rendered documents in a real browser: Debian's chromium (installed by .ci/run with apt-get),
 * driven by playwright-core, opens index.html and the documents from file://, finds no
 * .katex-error, the expected number of display equations, and links that lead somewhere.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDerivations } from '../../src/derive/files.js';

const CHROMIUM = '/usr/bin/chromium';
const DIR = join(import.meta.dirname, '..', '..', 'derivations');
const url = (f: string): string => pathToFileURL(join(DIR, f)).href;

// CI must have the browser (.ci/run installs it); a developer machine without it skips, loudly.
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
if (!available) console.warn(`browser test skipped: ${CHROMIUM} not installed (apt-get install chromium)`);

describe.skipIf(!available)('derivations in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('index.html renders its equation and links to every document, each of which loads', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url('index.html'));
    expect(await page.locator('.katex-error').count()).toBe(0);
    expect(await page.locator('.katex-display').count()).toBe(1);
    const links = await page.locator('a[href$=".html"]').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links.length).toBe(allDerivations().length);
    for (const link of links) {
      const response = await page.goto(link);
      expect(response?.ok(), link).toBe(true);
      expect(await page.locator('h1').count()).toBe(1);
    }
    // nothing but local files: no network
    expect(requests.filter((r) => !r.startsWith('file://'))).toEqual([]);
    await page.close();
  });

  it.each(allDerivations().map((d) => [d.name, d] as const))('%s.html: no KaTeX error, every equation displayed, links work, fonts load', async (name, d) => {
    const page = await browser.newPage();
    await page.goto(url(`${name}.html`));
    expect(await page.locator('.katex-error').count()).toBe(0);
    const equations = d.blocks.filter((b) => b.kind === 'eq').length;
    expect(await page.locator('.equation .katex-display').count()).toBe(equations);
    // KaTeX's own font is in use (the local CSS and woff2 files loaded)
    const loaded = await page.evaluate(async () => {
      await document.fonts.ready;
      const faces: FontFace[] = [];
      document.fonts.forEach((f) => faces.push(f));
      return faces.filter((f) => f.status === 'loaded').map((f) => f.family.replace(/"/g, ''));
    });
    expect(loaded).toContain('KaTeX_Main');
    // in-page equation references lead to an element with that id
    const anchors = await page.locator('a[href^="#eq-"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')!.slice(1)));
    for (const id of anchors) expect(await page.locator(`[id="${id}"]`).count()).toBe(1);
    // the navigation reaches the index and the other documents
    await page.locator('nav a', { hasText: 'All derivations' }).click();
    await page.waitForURL(/index\.html$/);
    expect(await page.title()).toBe('ssim-grad derivations');
    await page.close();
  });
});
