/**
 * The browser page (dist/web, `ssim-grad serve`) in Debian's chromium, served by serve's own server
 * with every request that leaves localhost blocked and recorded (none may be attempted): the
 * built-in pair's SSIM under every preset equals the Node library's to 1e-12 (CPU kernels in the
 * page, on web workers) and the table is `ssim-grad value` run by the CLI, preset by preset, its
 * refusals too; the maps' value and gradients for each preset chosen in the page are Node's; the
 * WGSL kernels' value and gradients on WebGPU (SwiftShader) are within the checker's float32
 * allowance of Node's float64 ones for every preset; a pair of another size and back; file://; the seed's gradient
 * (examples/seed, made here in Node) dropped as a .npy gets Node's verdict, MISMATCH naming the
 * per-pixel chain rule; a screenshot's heatmap region is not blank; a bad file shows the CLI's
 * message and the page keeps working. One browser for the file (test/support/browser.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowser } from '../../scripts/build-browser.js';
import { pageServer, PAGE } from '../../src/cli/serve.js';
import { readTensor, parsePng } from '../../src/io/files.js';
import { formatNpy, parseNpy } from '../../src/io/npy.js';
import { checkGradient } from '../../src/check/diagnose.js';
import { FLOOR_ALLOWANCE, floorOf } from '../../src/check/floor.js';
import { PRESETS, resolveOptions, type SsimOptions } from '../../src/model/options.js';
import { imagesAndOptions } from '../../src/cli/images.js';
import { parseArgs, SSIM_OPTION_SPECS } from '../../src/cli/args.js';
import { ssim, ssimGrad } from '../../src/runtime/ssim.js';
import { ssimGradFloat32Arith } from '../../src/runtime/fast.js';
import { evaluateVariant } from '../../src/runtime/variants.js';
import { build } from 'esbuild';
import { main } from '../../src/cli.js';
import { differenceNorms, type Tensor } from '../../src/field/index.js';
import { gradient as seedGradient } from '../../examples/seed/gradient.js';
import { closeBrowser, sharedBrowser, webgpuBrowserAvailable } from '../support/browser.js';

const ROOT = join(import.meta.dirname, '..', '..');
const X = readTensor(join(ROOT, 'examples', 'pair', 'x.png'));
const Y = readTensor(join(ROOT, 'examples', 'pair', 'y.png'));
const available = webgpuBrowserAvailable('the browser page tests');

const X_PNG = join(ROOT, 'examples', 'pair', 'x.png');
const Y_PNG = join(ROOT, 'examples', 'pair', 'y.png');

/**
 * The options the Node CLI runs `value X Y --preset P` with (src/cli/images.ts: its parse, its
 * reading of the files, the data range it fills), for the presets it gives a number for; where it
 * refuses (skimage and tf on float images), those with `--data-range 1` given.
 */
function cliOptions(x: string, y: string, preset: string): SsimOptions {
  const of = (extra: string[]) => imagesAndOptions(parseArgs([x, y, '--preset', preset, ...extra], SSIM_OPTION_SPECS, 'value'), 'value').options;
  try {
    resolveOptions(of([]));
    return of([]);
  } catch {
    return of(['--data-range', '1']);
  }
}
/** `ssim-grad value X Y --preset P` run by the Node CLI itself: its number, or its one-line refusal (the prefix dropped). */
async function cliValue(x: string, y: string, preset: string, extra: string[] = []): Promise<{ status: number; value: number; message: string }> {
  let out = '', err = '';
  const status = await main(['value', x, y, '--preset', preset, ...extra], { out: (s) => (out += s), err: (s) => (err += s) });
  return { status, value: Number(out.trim()), message: err.trim().replace(/^ssim-grad value: /, '') };
}

/** A uint8 .npy as numpy writes one ('|u1'). */
function npyUint8(shape: readonly number[], data: Uint8Array): Uint8Array {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const bytes = new Uint8Array(10 + header.length + data.length);
  bytes.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  bytes.set(data, 10 + header.length);
  return bytes;
}

describe.skipIf(!available)('the page in chromium, offline', () => {
  let server: Server;
  let origin = '';
  let context: BrowserContext;
  let page: Page;
  const outside: string[] = [];
  let root = '';
  const dir = mkdtempSync(join(tmpdir(), 'ssim-grad-page-'));

  const idle = async (): Promise<void> => {
    await page.waitForFunction(() => document.body.dataset['busy'] === '0', undefined, { timeout: 30_000 });
  };

  /** The page's table against the Node CLI on the same files, preset by preset: its number to 1e-12, or its refusal and no number. */
  const expectTableIsCli = async (xFile: string, yFile: string, on: Page = page): Promise<void> => {
    const rows = await on.$$eval('#presets tbody tr', (rs) =>
      rs.map((r) => ({ preset: (r as HTMLElement).dataset['preset']!, ssim: r.querySelectorAll('td')[3]?.getAttribute('data-value') ?? null, error: r.querySelector('[data-error]')?.getAttribute('data-error') ?? null })),
    );
    expect(rows.map((r) => r.preset)).toEqual([...PRESETS]);
    for (const r of rows) {
      const cli = await cliValue(xFile, yFile, r.preset);
      if (cli.status === 0) {
        expect(r.error, `${r.preset} on ${xFile}`).toBeNull();
        expect(Math.abs(Number(r.ssim) - cli.value), `${r.preset} on ${xFile}`).toBeLessThanOrEqual(1e-12 * Math.abs(cli.value));
      } else {
        expect(cli.status).toBe(2);
        expect({ preset: r.preset, error: r.error, ssim: r.ssim }).toEqual({ preset: r.preset, error: cli.message, ssim: null });
      }
    }
  };

  beforeAll(async () => {
    // the page built into a folder of its own, served with the repository's derivations and pair
    // (the packed package's page: test/package.test.ts)
    root = mkdtempSync(join(tmpdir(), 'ssim-grad-web-'));
    await buildBrowser(join(root, 'dist', 'web'));
    mkdirSync(join(root, 'examples'));
    symlinkSync(join(ROOT, 'derivations'), join(root, 'derivations'));
    symlinkSync(join(ROOT, 'examples', 'pair'), join(root, 'examples', 'pair'));
    server = pageServer(root);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = await (await sharedBrowser()).newContext();
    // offline: anything not on this server is recorded and refused
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.body.dataset['ready'] === '1');
    await page.click('#use-pair');
    await page.waitForFunction(() => document.querySelectorAll('#presets tbody tr').length > 0);
    await idle();
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await closeBrowser();
    server?.close();
  });

  it('was served from localhost alone: no request left it', () => {
    expect(page.url()).toBe(`${origin}${PAGE}`);
    expect(outside).toEqual([]);
  });

  it("shows SSIM under every preset as `ssim-grad value X Y --preset P` gives it (to 1e-12; its refusal where it needs L), computed on web workers in shared memory", async () => {
    await expectTableIsCli(X_PNG, Y_PNG);
    // the page is cross-origin isolated (serve's headers), so its workers share memory; the table ran on one
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // a big enough pair runs on the workers: bit for bit the one-thread result
    const big = await page.evaluate(async () => {
      const lib = (window as unknown as { ssimGrad: typeof import('../../src/browser/index.js') }).ssimGrad;
      const n = 3 * 160 * 200;
      const x = Float64Array.from({ length: n }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
      const y = Float64Array.from({ length: n }, (_, i) => (Math.sin(i * 0.37 + 0.2 * Math.cos(i)) + 1) / 2);
      const t = { shape: [3, 160, 200], data: x }, u = { shape: [3, 160, 200], data: y };
      const one = lib.ssimGrad(t, u);
      const par = await lib.ssimGradAsync(t, u, {}, { threads: 4 });
      const auto = await lib.ssimGradAuto(t, u, {}, { backend: 'cpu' });
      let same = one.ssim === par.ssim;
      for (let i = 0; i < n; i++) same &&= one.gradX.data[i] === par.gradX.data[i] && one.gradY.data[i] === par.gradY.data[i];
      return { same, backend: auto.backend, unavailable: lib.workersUnavailable() };
    });
    expect(big).toEqual({ same: true, backend: 'workers', unavailable: null });
  });

  it("says WebGPU ran, and its value and gradients are within the float32 allowance of Node's for every preset", async () => {
    expect(await page.getAttribute('#ran', 'data-backend')).toBe('webgpu');
    const gpu = await page.evaluate(
      async ({ presets, options, x, y }) => {
        const lib = (window as unknown as { ssimGrad: typeof import('../../src/browser/index.js') }).ssimGrad;
        const t = { shape: x.shape, data: Float64Array.from(x.data) }, u = { shape: y.shape, data: Float64Array.from(y.data) };
        const out = [];
        for (const [i, preset] of presets.entries()) {
          const r = await lib.ssimGradAuto(t, u, options[i]!, { backend: 'webgpu' });
          out.push({ backend: r.backend, ssim: r.ssim, gradX: Array.from(r.gradX.data), gradY: Array.from(r.gradY.data) });
        }
        return out;
      },
      { presets: [...PRESETS], options: PRESETS.map((p) => cliOptions(X_PNG, Y_PNG, p)), x: { shape: X.shape, data: Array.from(X.data) }, y: { shape: Y.shape, data: Array.from(Y.data) } },
    );
    PRESETS.forEach((preset, i) => {
      const o = cliOptions(X_PNG, Y_PNG, preset);
      const exact = ssimGrad(X, Y, o);
      const f32 = ssimGradFloat32Arith(X, Y, o);
      const r = gpu[i]!;
      expect(r.backend).toBe('webgpu');
      const within = (what: string, got: ArrayLike<number>, want: ArrayLike<number>, emulated: ArrayLike<number>, half = 0) => {
        const floor = floorOf(emulated, Float64Array.from(want));
        const d = differenceNorms(got, want);
        const ratio = Math.max(d.maxAbs / Math.max(floor.maxAbs, half), d.l2 / Math.max(floor.l2, half));
        expect(ratio, `${preset} ${what}: ${ratio.toFixed(2)} x the floor`).toBeLessThanOrEqual(FLOOR_ALLOWANCE);
      };
      within('value', [r.ssim], [exact.ssim], [f32.ssim], 2 ** -24 * Math.abs(exact.ssim));
      within('d/dx', r.gradX, exact.gradX.data, f32.gradX);
      within('d/dy', r.gradY, exact.gradY.data, f32.gradY);
    });
  });


  it("computes the maps' value and gradients as Node's ssimGrad for each preset chosen in the page (CPU to 1e-12, WebGPU within the float32 floor)", async () => {
    type Run = { backend: string; value: number; gradX: number[]; gradY: number[] } | null;
    const run = (): Promise<Run> =>
      page.evaluate(() => {
        const r = (window as unknown as { ssimGradPage: { run?: { backend: string; value: number; gradX: ArrayLike<number>; gradY: ArrayLike<number> } } }).ssimGradPage.run;
        return r === undefined ? null : { backend: r.backend, value: r.value, gradX: Array.from(r.gradX), gradY: Array.from(r.gradY) };
      });
    const choose = async (id: string, value: string): Promise<void> => {
      if (id === '#data-range') {
        await page.fill(id, value);
        await page.dispatchEvent(id, 'change');
      } else await page.selectOption(id, value);
      await idle();
    };
    for (const backend of ['cpu', 'auto'] as const) {
      await choose('#backend', backend);
      for (const preset of PRESETS) {
        await choose('#preset', preset);
        const cli = await cliValue(X_PNG, Y_PNG, preset);
        if (cli.status !== 0) {
          // the CLI refuses without L: so do the maps, with its message; then L = 1 as --data-range 1
          expect(await run(), preset).toBeNull();
          expect(await page.textContent('#error'), preset).toBe(cli.message);
          await choose('#data-range', '1');
        }
        const r = (await run())!;
        expect(r, preset).not.toBeNull();
        const o = cliOptions(X_PNG, Y_PNG, preset);
        const exact = ssimGrad(X, Y, o);
        if (backend === 'cpu') {
          expect(r.backend, preset).not.toBe('webgpu');
          expect(Math.abs(r.value - exact.ssim), preset).toBeLessThanOrEqual(1e-12 * Math.abs(exact.ssim));
          for (const [got, want] of [[r.gradX, exact.gradX.data], [r.gradY, exact.gradY.data]] as const) {
            expect(got.length).toBe(want.length);
            expect(differenceNorms(got, want).maxAbs, preset).toBeLessThanOrEqual(1e-12 * differenceNorms(want, new Float64Array(want.length)).maxAbs);
          }
        } else {
          expect(r.backend, preset).toBe('webgpu');
          const f32 = ssimGradFloat32Arith(X, Y, o);
          for (const [what, got, want, emulated, half] of [
            ['value', [r.value], [exact.ssim], [f32.ssim], 2 ** -24 * Math.abs(exact.ssim)],
            ['d/dx', r.gradX, exact.gradX.data, f32.gradX, 0],
            ['d/dy', r.gradY, exact.gradY.data, f32.gradY, 0],
          ] as const) {
            const floor = floorOf(emulated, Float64Array.from(want));
            const d = differenceNorms(got, want);
            const ratio = Math.max(d.maxAbs / Math.max(floor.maxAbs, half), d.l2 / Math.max(floor.l2, half));
            expect(ratio, `${preset} ${what}: ${ratio.toFixed(2)} x the floor`).toBeLessThanOrEqual(FLOOR_ALLOWANCE);
          }
        }
        if (cli.status !== 0) await choose('#data-range', '');
      }
    }
    await choose('#preset', 'pytorch-ssim');
  });

  it("gets Node's verdict on the seed's gradient: MISMATCH, the per-pixel chain rule named", async () => {
    // the seed's module takes the images alone (its options are pytorch-ssim's)
    const g = seedGradient(X, Y) as Tensor;
    const file = join(dir, 'seed-gradient.npy');
    writeFileSync(file, formatNpy({ shape: g.shape, data: Float64Array.from(g.data) }));
    await page.setInputFiles('#file-cand', file);
    await page.waitForFunction(() => (document.getElementById('verdict-line')?.textContent ?? '') !== '');
    await idle();
    const node = checkGradient({ x: X, y: Y, options: {}, wrt: 'x', candidate: Float64Array.from(g.data) }).report;
    const shown = await page.evaluate(() => ({
      verdict: document.getElementById('verdict-line')!.textContent,
      diagnosis: document.getElementById('diagnosis')!.textContent,
      report: (window as unknown as { ssimGradPage: { check: unknown } }).ssimGradPage.check,
    }));
    expect(shown.verdict).toMatch(/^verdict: MISMATCH, .* x the rounding floor \(a match allows 32 x\)$/);
    expect(shown.diagnosis).toContain('per-pixel chain rule: the window\'s transpose is missing');
    expect(node.verdict).toBe('mismatch');
    // the same checker on the same numbers: the browser's report is Node's
    expect(shown.report).toEqual(JSON.parse(JSON.stringify(node)));
  });


  it("refuses the check as `ssim-grad check` does where the preset needs L (float images), and checks once L is given", async () => {
    // the seed's candidate is still dropped; skimage on the PNG pair: the CLI's refusal, no verdict, no maps
    const seed = join(dir, 'seed-gradient.npy');
    let cli = '';
    expect(await main(['check', seed, X_PNG, Y_PNG, '--preset', 'skimage'], { err: (s) => (cli = s) })).toBe(2);
    cli = cli.replace(/^ssim-grad check: /, '');
    expect(cli).toBe('dataRange (--data-range): the skimage preset needs the data range, as the peer does for float images');
    await page.selectOption('#preset', 'skimage');
    await idle();
    expect(await page.textContent('#error')).toBe(cli);
    expect(await page.isHidden('#verdict')).toBe(true);
    expect(await page.isHidden('#maps')).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { ssimGradPage: { check?: unknown } }).ssimGradPage.check)).toBeUndefined();
    // given L = 1 (as --data-range 1), the verdict is Node's under the CLI's options
    await page.fill('#data-range', '1');
    await page.dispatchEvent('#data-range', 'change');
    await page.waitForFunction(() => (window as unknown as { ssimGradPage: { check?: unknown } }).ssimGradPage.check !== undefined);
    await idle();
    const o = imagesAndOptions(parseArgs([X_PNG, Y_PNG, '--preset', 'skimage', '--data-range', '1'], SSIM_OPTION_SPECS, 'check'), 'check').options;
    const g = parseNpy(new Uint8Array(readFileSync(seed)), 'seed');
    const node = checkGradient({ x: X, y: Y, options: o, wrt: 'x', candidate: Float64Array.from(g.data) }).report;
    const shown = await page.evaluate(() => (window as unknown as { ssimGradPage: { check: unknown } }).ssimGradPage.check);
    expect(shown).toEqual(JSON.parse(JSON.stringify(node)));
    await page.fill('#data-range', '');
    await page.dispatchEvent('#data-range', 'change');
    await idle();
    await page.selectOption('#preset', 'pytorch-ssim');
    await idle();
  });

  it('draws heatmaps that are not blank inside a tile (a screenshot, its pixel variance), and a constant map blank (x = y)', async () => {
    /** The grey variance of the central half of the first tile (the canvas's data-tile), from a screenshot: the gaps between tiles are left out. */
    const variance = async (selector: string): Promise<number> => {
      const shot = PNG.sync.read(await page.locator(selector).screenshot());
      const { width, tile } = await page.$eval(selector, (c) => ({ width: (c as HTMLCanvasElement).width, tile: (c as HTMLCanvasElement).dataset['tile'] ?? '' }));
      const [tx, ty, tw, th] = tile.split(' ').map(Number) as [number, number, number, number];
      expect(tw * th, `${selector} data-tile`).toBeGreaterThan(0);
      const border = 1; // page.css: canvas { border: 1px }
      const k = (shot.width - 2 * border) / width;
      const gray: number[] = [];
      for (let i = Math.round((ty + th / 4) * k) + border; i < Math.round((ty + (3 * th) / 4) * k) + border; i++) {
        for (let j = Math.round((tx + tw / 4) * k) + border; j < Math.round((tx + (3 * tw) / 4) * k) + border; j++) {
          const p = 4 * (i * shot.width + j);
          gray.push((shot.data[p]! + shot.data[p + 1]! + shot.data[p + 2]!) / 3);
        }
      }
      expect(gray.length, selector).toBeGreaterThan(100);
      const mean = gray.reduce((a, v) => a + v, 0) / gray.length;
      return gray.reduce((a, v) => a + (v - mean) ** 2, 0) / gray.length;
    };
    await page.screenshot({ path: join(dir, 'page.png'), fullPage: true });
    for (const id of ['#map-ssim', '#map-gx', '#map-gy', '#map-err']) expect(await variance(id), id).toBeGreaterThan(10);
    // the negative control: X = Y, SSIM 1 everywhere (to rounding): the map's tile is one colour
    await page.setInputFiles('#file-y', X_PNG);
    await page.waitForFunction(() => /^x\.png: /.test(document.getElementById('name-y')!.textContent ?? ''));
    await idle();
    expect(await page.textContent('#cap-ssim')).toMatch(/^SSIM map, constant 1\.000 \(to rounding\)/);
    expect(await variance('#map-ssim')).toBeLessThan(1);
    await page.click('#use-pair');
    await page.waitForFunction(() => /^examples\/pair\/y\.png: /.test(document.getElementById('name-y')!.textContent ?? ''));
    await idle();
  });

  it("runs a user's variant file (JavaScript) under every preset as Node does, and refuses a .ts one saying how to compile it", async () => {
    const js = join(dir, 'luma-ssim.js');
    await build({ entryPoints: [join(ROOT, 'examples', 'variants', 'luma-ssim.ts')], bundle: true, format: 'esm', platform: 'browser', external: ['ssim-grad'], outfile: js, logLevel: 'silent' });
    await page.selectOption('#variant', '(file)');
    await idle();
    expect(await page.textContent('#error')).toMatch(/^variant file: none picked/);
    const ts = join(dir, 'mine.ts');
    writeFileSync(ts, 'export default {};\n');
    await page.setInputFiles('#variant-file', ts);
    await page.waitForFunction(() => /TypeScript variant cannot run in the browser/.test(document.getElementById('error')!.textContent ?? ''));
    await idle();
    await page.setInputFiles('#variant-file', js);
    await page.waitForFunction(() => document.getElementById('error')!.hidden && document.getElementById('variant-head')!.textContent === 'value (luma-ssim.js)');
    await idle();
    const decl = (await import('../../examples/variants/luma-ssim.js')).default;
    const cells = await page.$$eval('#presets tbody tr', (rows) => rows.map((r) => { const v = r.querySelectorAll('td')[4]?.getAttribute('data-value'); return v == null ? null : Number(v); }));
    PRESETS.forEach((preset, i) => {
      // the CLI's options for the pair; where it refuses without L, the row has no value
      const o = imagesAndOptions(parseArgs([X_PNG, Y_PNG, '--preset', preset], SSIM_OPTION_SPECS, 'value'), 'value').options;
      let node: number;
      try {
        node = evaluateVariant(X, Y, { ...o, variant: decl }).value;
      } catch {
        expect(cells[i], preset).toBeNull();
        return;
      }
      expect(Math.abs(cells[i]! - node), preset).toBeLessThanOrEqual(1e-12 * Math.abs(node));
    });
    await page.selectOption('#variant', 'ssim');
    await idle();
  });


  it('switches to a pair of another size and back: the built-in pair, a 3 x 20 x 20 pair, the built-in pair, each as the CLI gives it', async () => {
    const xPng = X_PNG, yPng = Y_PNG;
    const a = Uint8Array.from({ length: 3 * 20 * 20 }, (_, i) => (i * 37 + (i >> 3)) % 256);
    const b = Uint8Array.from({ length: 3 * 20 * 20 }, (_, i) => (i * 37 + 11 * Math.round(4 * Math.sin(i))) % 256);
    const xs = join(dir, 'small-x.npy'), ys = join(dir, 'small-y.npy');
    writeFileSync(xs, npyUint8([3, 20, 20], a));
    writeFileSync(ys, npyUint8([3, 20, 20], b));
    await page.click('#use-pair');
    await idle();
    await expectTableIsCli(xPng, yPng);
    // X of the new size is taken (its label says so) and the mismatch is told, the CLI's line, until Y comes
    await page.setInputFiles('#file-x', xs);
    await page.waitForFunction(() => /^small-x\.npy: 3 x 20 x 20 \(uint8\)$/.test(document.getElementById('name-x')!.textContent ?? ''));
    await idle();
    let mismatch = '';
    expect(await main(['value', xs, yPng], { err: (s) => (mismatch = s) })).toBe(2);
    expect(await page.textContent('#error')).toBe(mismatch.replace('ssim-grad value: ', '').replace(yPng, 'examples/pair/y.png').replace(xs, 'small-x.npy'));
    expect(await page.isHidden('#results')).toBe(true);
    await page.setInputFiles('#file-y', ys);
    await page.waitForFunction(() => /^small-y\.npy: 3 x 20 x 20/.test(document.getElementById('name-y')!.textContent ?? '') && document.getElementById('error')!.hidden);
    await idle();
    await page.waitForFunction(() => document.querySelector('#presets tbody tr')?.querySelectorAll('td')[3]?.getAttribute('data-value') !== null);
    await expectTableIsCli(xs, ys);
    expect(await page.getAttribute('#ran', 'data-value')).not.toBeNull();
    // and back
    await page.click('#use-pair');
    await page.waitForFunction(() => /^examples\/pair\/y\.png: 3 x 48 x 64/.test(document.getElementById('name-y')!.textContent ?? '') && document.getElementById('error')!.hidden);
    await idle();
    await expectTableIsCli(xPng, yPng);
  });


  it("works from file:// (dist/web/index.html opened as a file, on one thread): the built-in pair's table is the CLI's", async () => {
    const file = join(root, 'dist', 'web', 'index.html');
    expect(existsSync(file)).toBe(true);
    const local = await (await sharedBrowser()).newContext();
    const asked: string[] = [];
    await local.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      asked.push(url);
      return route.abort();
    });
    try {
      const p = await local.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(pathToFileURL(file).href);
      await p.waitForFunction(() => document.body.dataset['ready'] === '1');
      expect(await p.evaluate(() => location.protocol)).toBe('file:');
      await p.click('#use-pair');
      await p.waitForFunction(() => document.querySelectorAll('#presets tbody tr').length > 0 && document.body.dataset['busy'] === '0', undefined, { timeout: 30_000 });
      await expectTableIsCli(X_PNG, Y_PNG, p);
      // one thread: no worker runs from file://, and the page says where it ran
      expect(await p.evaluate(() => (window as unknown as { ssimGrad: { workersUnavailable(): string | null } }).ssimGrad.workersUnavailable())).not.toBeNull();
      expect(await p.evaluate(() => document.getElementById('error')!.hidden)).toBe(true);
      expect(errors).toEqual([]);
      expect(asked).toEqual([]);
    } finally {
      await local.close();
    }
  });

  it("shows the CLI's message for a bad file and keeps working", async () => {
    const bad = join(dir, 'notes.png');
    writeFileSync(bad, 'not an image');
    await page.setInputFiles('#file-x', bad);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    await idle();
    let cli = '';
    try {
      parsePng(Buffer.from('not an image'), bad);
    } catch (e) {
      cli = (e as Error).message.replace(bad, 'notes.png');
    }
    expect(cli).toBe('notes.png: not a readable PNG (no PNG signature), expected a .png image');
    expect(await page.textContent('#error')).toBe(cli);
    // a candidate that is not an .npy: numpy's reader's words, as check gives them
    const badNpy = join(dir, 'cand.npy');
    writeFileSync(badNpy, Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0, 0, 0]));
    let npyMessage = '';
    try {
      parseNpy(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0, 0, 0]), 'cand.npy');
    } catch (e) {
      npyMessage = (e as Error).message;
    }
    await page.setInputFiles('#file-cand', badNpy);
    await page.waitForFunction((m) => document.getElementById('error')!.textContent === m, npyMessage);
    await idle();
    // and it goes on: the pair again, the table again
    await page.click('#use-pair');
    await page.waitForFunction(() => document.getElementById('error')!.hidden);
    await idle();
    expect(await page.$$eval('#presets tbody tr', (r) => r.length)).toBe(PRESETS.length);
    expect(outside).toEqual([]);
  });
});
