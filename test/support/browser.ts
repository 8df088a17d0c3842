/// <reference lib="dom" />
/**
 * A WebGPU page in Debian's chromium for the WGSL tests: one browser per test file (launched on
 * first use, about 0.7 s here), one page with a device, the runner (src/kernel/webgpu.ts) bundled by
 * esbuild and injected. WebGPU needs `--enable-unsafe-webgpu` (SwiftShader's Vulkan then gives an
 * adapter headless; no other flag was needed) and a secure context: a file:// page, not about:blank.
 * CI must have the browser (.ci/run installs it); elsewhere the tests skip, loudly.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PrintedWgsl } from '../../src/kernel/print-wgsl.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Whether the browser tests run here (they must in CI). */
export function webgpuBrowserAvailable(what: string): boolean {
  const available = existsSync(CHROMIUM);
  if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  if (!available) console.warn(`${what} skipped: ${CHROMIUM} not installed (apt-get install chromium)`);
  return available;
}

let bundle: Promise<string> | undefined;
/** src/kernel/webgpu.ts as one script that sets globalThis.wgslRunner. */
export function runnerBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'src', 'kernel', 'webgpu.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'wgslRunner',
    platform: 'browser',
    target: 'es2022',
    write: false,
  }).then((r) => r.outputFiles[0]!.text);
  return bundle;
}

let browser: Promise<Browser> | undefined;
/** This file's browser (launched once). */
export function sharedBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  const b = browser;
  browser = undefined;
  await (await b)?.close();
}

/** A page with the runner and a WebGPU device (window.wgslDevice); the page's console errors go to the test's log. */
export async function webgpuPage(): Promise<Page> {
  const page = await (await sharedBrowser()).newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const dir = mkdtempSync(join(tmpdir(), 'wgsl-page-'));
  const html = join(dir, 'index.html');
  writeFileSync(html, '<!doctype html><meta charset="utf-8"><title>wgsl</title>');
  await page.goto(pathToFileURL(html).href);
  await page.addScriptTag({ content: await runnerBundle() });
  await page.evaluate(async () => {
    const w = window as unknown as { wgslRunner: { requestWgslDevice(gpu: unknown): Promise<unknown> }; wgslDevice: unknown };
    w.wgslDevice = await w.wgslRunner.requestWgslDevice((navigator as unknown as { gpu?: unknown }).gpu);
  });
  return page;
}

/** One run of a printed program in a page. */
export interface PageCase {
  readonly printed: PrintedWgsl;
  readonly args: Readonly<Record<string, number | boolean | readonly number[]>>;
  readonly scratch?: boolean;
}

/** Each case's buffers as plain arrays, or its error's message. */
export type PageResult = { readonly ok: true; readonly buffers: Record<string, number[]> } | { readonly ok: false; readonly error: string };

/** Runs the cases one after another in the page (one round trip for all). */
export async function runInPage(page: Page, cases: readonly PageCase[]): Promise<PageResult[]> {
  return page.evaluate(async (list) => {
    const w = window as unknown as {
      wgslRunner: {
        runWgslProgram(device: unknown, printed: unknown, args: unknown, options: unknown): Promise<Record<string, ArrayLike<number>>>;
        prepareWgslProgram(device: unknown, printed: unknown): Promise<void>;
      };
      wgslDevice: unknown;
    };
    // every distinct module compiled at once (the browser compiles them in parallel); errors surface in the runs below
    const modules = new Map(list.map((c) => [c.printed.code, c.printed]));
    await Promise.all([...modules.values()].map((p) => w.wgslRunner.prepareWgslProgram(w.wgslDevice, p).catch(() => undefined)));
    const out: Array<{ ok: true; buffers: Record<string, number[]> } | { ok: false; error: string }> = [];
    for (const c of list) {
      try {
        const r = await w.wgslRunner.runWgslProgram(w.wgslDevice, c.printed, c.args, { scratch: c.scratch });
        out.push({ ok: true, buffers: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)])) });
      } catch (e) {
        out.push({ ok: false, error: (e as Error).message });
      }
    }
    return out;
  }, cases as PageCase[]);
}
