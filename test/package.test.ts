/**
 * The published package: what `npm pack` ships must be enough to run every command (no runtime read
 * outside the packed files), runtime imports must be runtime dependencies, and no locked package may
 * demand a newer Node than our `engines` declares (else `npm ci` warns EBADENGINE).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeRangeMinimum, satisfiesNodeRange } from './support/node-range.js';
import { buildBrowser } from '../scripts/build-browser.js';
import { closeBrowser, sharedBrowser, webgpuBrowserAvailable } from './support/browser.js';

const ROOT = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  files: string[];
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('npm pack', () => {
  let dir = '';
  let packed: string[] = [];

  beforeAll(async () => {
    // the page's bundles as the build makes them (`npm ci` runs it; --ignore-scripts below does not)
    await buildBrowser();
    dir = mkdtempSync(join(tmpdir(), 'ssim-grad-pack-'));
    // --ignore-scripts: no `prepare` build; the packed src/ runs with tsx below, the same tree as dist/.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
    const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path);
    execFileSync('tar', ['-xzf', join(dir, info.filename), '-C', dir]);
    // The installed package sees its dependencies, as it would under a consumer's node_modules.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'package', 'node_modules'), 'dir');
    // and `node --import tsx`, run from a folder below dir, finds tsx the same way.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'run.mts'), "import { main } from './package/src/cli.js';\nprocess.exitCode = await main(process.argv.slice(2));\n");
  });

  /** Runs the packed CLI from a directory outside both the repository and the package. */
  const packedCli = (args: string[]) => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    return spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'run.mts'), ...args], { cwd, encoding: 'utf8' });
  };

  it('ships the example pair that derive measures its errors on', () => {
    expect(packed).toContain('examples/pair/x.png');
    expect(packed).toContain('examples/pair/y.png');
    expect(packed.some((p) => p.startsWith('test/'))).toBe(false);
  });

  it('ships the browser page, its bundles and the derivations it links to', () => {
    for (const f of ['index.html', 'page.css', 'page.js', 'pair.js', 'worker.js', 'ssim-grad.js', 'ssim.js']) expect(packed).toContain(`dist/web/${f}`);
    for (const f of ['index.html', 'ssim-pytorch-ssim.html', 'ms-ssim-tf.html', 'wang.html', 'katex/katex.min.css']) expect(packed).toContain(`derivations/${f}`);
    // the index links each derivation's Markdown too: shipped, so that no link is broken offline
    for (const f of ['ssim-pytorch-ssim.md', 'wang.md', 'ms-ssim-tf.md']) expect(packed).toContain(`derivations/${f}`);
  });

  it('breaks no link offline: every href and src in the shipped derivations/*.html and dist/web/*.html is a packed file, an in-page anchor or data:', () => {
    const pages = packed.filter((p) => /^(derivations|dist\/web)\/[^/]+\.html$/.test(p));
    expect(pages.length).toBeGreaterThanOrEqual(13);
    const broken: string[] = [];
    let links = 0;
    for (const p of pages) {
      const html = readFileSync(join(dir, 'package', p), 'utf8');
      for (const m of html.matchAll(/\b(?:href|src)="([^"]*)"/g)) {
        const target = m[1]!.replace(/&amp;/g, '&');
        links++;
        if (target.startsWith('#') || target.startsWith('data:')) continue;
        const path = target.split(/[?#]/)[0]!;
        const resolved = posix.normalize(posix.join(posix.dirname(p), decodeURIComponent(path)));
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || !packed.includes(resolved)) broken.push(`${p}: ${target}`);
      }
    }
    expect(links).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });

  it.skipIf(!webgpuBrowserAvailable('the packed page in chromium'))('serves the packed page with serve, and it works offline in chromium', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'run.mts'), 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (b: Buffer) => {
          text += b.toString();
          const m = /http:\/\/127\.0\.0\.1:\d+\/dist\/web\/index\.html/.exec(text);
          if (m) resolve(m[0]);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const context = await (await sharedBrowser()).newContext();
      const outside: string[] = [];
      await context.route('**/*', (route) => (route.request().url().startsWith(new URL(url).origin) ? route.continue() : (outside.push(route.request().url()), route.abort())));
      const page = await context.newPage();
      await page.goto(url);
      await page.click('#use-pair');
      await page.waitForFunction(() => document.querySelectorAll('#presets tbody tr').length === 5 && document.body.dataset['busy'] === '0', undefined, { timeout: 30_000 });
      const first = Number(await page.getAttribute('#presets tbody tr:first-child td:nth-child(4)', 'data-value'));
      expect(first).toBeCloseTo(0.7889585450700933, 12); // README's value on the pair
      // the derivation link resolves inside the package
      const href = await page.getAttribute('#derivation-link', 'href');
      expect((await page.request.get(href!)).status()).toBe(200);
      expect(outside).toEqual([]);
      await context.close();
    } finally {
      child.kill();
      await closeBrowser();
    }
  }, 60_000);

  it('runs derive and value from the extracted package alone', () => {
    const md = packedCli(['derive', '--preset', 'pytorch-ssim']);
    expect(md.stderr).toBe('');
    expect(md.status).toBe(0);
    // The measured-error paragraph is the part that reads examples/pair.
    expect(md.stdout).toMatch(/Measured when this document was generated, on the built-in example/);
    const html = packedCli(['derive', '--preset', 'tf', '--data-range', '1', '--format', 'html']);
    expect(html.status).toBe(0);
    expect(html.stdout).toContain('data:font/woff2;base64,');
    const pair = join(dir, 'package', 'examples', 'pair');
    const v = packedCli(['value', join(pair, 'x.png'), join(pair, 'y.png')]);
    expect(v.status).toBe(0);
    expect(Number(v.stdout)).toBeCloseTo(0.7889585450700933, 12); // README's value on the pair
  });
});

describe('package.json dependencies', () => {
  /** Bare specifiers imported (statically or dynamically) by the shipped code. */
  function shippedImports(): Set<string> {
    const names = new Set<string>();
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|mjs|cjs|mts|cts)$/.test(e.name)) {
          const text = readFileSync(p, 'utf8');
          for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)'([^'.][^']*)'/g)) {
            const spec = m[1]!;
            if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
            const parts = spec.split('/');
            names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
          }
        }
      }
    };
    walk(join(ROOT, 'src'));
    walk(join(ROOT, 'bin'));
    return names;
  }

  it('lists exactly the packages the shipped code imports as runtime dependencies', () => {
    const used = [...shippedImports()].sort();
    expect(used.length).toBeGreaterThan(0);
    expect(Object.keys(pkg.dependencies).sort()).toEqual(used);
  });

  it('locks no package that needs a newer Node than engines declares', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
    };
    const oldest = nodeRangeMinimum(pkg.engines.node);
    const offending: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.engines === undefined || Array.isArray(entry.engines) || entry.engines.node === undefined) continue;
      // Runtime packages must run on the oldest Node we accept; dev tools only on the Node running the tests.
      const need = entry.dev ? process.versions.node : oldest;
      if (!satisfiesNodeRange(need, entry.engines.node)) offending.push(`${path} needs node ${entry.engines.node}, not ${need}`);
    }
    expect(offending).toEqual([]);
  });
});

describe('node-range (the reader the engines test relies on)', () => {
  it('reads the range forms found in lockfiles', () => {
    expect(satisfiesNodeRange('20.20.2', '>=22.12.0')).toBe(false); // commander 15: the EBADENGINE of issue 10
    expect(satisfiesNodeRange('22.12.0', '>=22.12.0')).toBe(true);
    expect(satisfiesNodeRange('20.20.2', '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfiesNodeRange('20.0.0', '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfiesNodeRange('20.0.0', '>= 12')).toBe(true);
    expect(satisfiesNodeRange('20.0.0', '4.x || >=6.0.0')).toBe(true);
    expect(satisfiesNodeRange('5.1.0', '4.x')).toBe(false);
    expect(satisfiesNodeRange('20.0.0', '*')).toBe(true);
    expect(satisfiesNodeRange('21.0.0', '^20.0.0')).toBe(false);
    expect(nodeRangeMinimum('>=20')).toBe('20.0.0');
    expect(() => satisfiesNodeRange('20.0.0', 'latest')).toThrow(/cannot read/);
  });
});
