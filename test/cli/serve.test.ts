/**
 * `ssim-grad serve`: a bad --port or a port in use is exit 2 with one line; the server sends the page
 * (with the cross-origin isolation headers its workers need), the derivations and the pair, and
 * nothing else of the package or the machine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { PACKAGE_ROOT, PAGE, pageServer, portOf, servedFile } from '../../src/cli/serve.js';

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const status = await main(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { status, stdout, stderr };
}

describe('serve --port', () => {
  it.each([['abc'], ['-1'], ['65536'], ['8.5'], ['']])("refuses '%s': exit 2, one line naming --port", async (port) => {
    const r = await run(['serve', '--port', port]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--port: got '${port}', expected an integer from 0 (any free port) to 65535`);
  });

  it('refuses a port in use: exit 2, one line', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      // the page is built (npm ci runs prepare: npm run build); without it this test says so, not a port message
      expect(existsSync(join(PACKAGE_ROOT, PAGE)), `${PAGE.slice(1)} is missing: run npm run build`).toBe(true);
      const r = await run(['serve', '--port', String(port)]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`ssim-grad serve: --port: ${port} is in use; pick another with --port N, or --port 0 for any free port\n`);
    } finally {
      taken.close();
    }
  });

  it('refuses a stray word: exit 2, one line, nothing served', async () => {
    const r = await run(['serve', 'extra']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("ssim-grad serve: serve: takes no files or words, got 'extra'; the usage is ssim-grad serve [--port N]\n");
  });

  it('reads the default and 0', () => {
    expect(portOf(undefined)).toBe(8080);
    expect(portOf('0')).toBe(0);
    expect(portOf('65535')).toBe(65535);
  });
});

describe('what serve sends', () => {
  let server: Server;
  let origin = '';
  beforeAll(async () => {
    server = pageServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('sends / to the page, and the derivations and the pair with the isolation headers', async () => {
    const root = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dist/web/index.html');
    const d = await fetch(`${origin}/derivations/ssim-pytorch-ssim.html`);
    expect(d.status).toBe(200);
    expect(d.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(d.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(d.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const png = await fetch(`${origin}/examples/pair/x.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await png.arrayBuffer()).slice(1, 4)).toEqual(new TextEncoder().encode('PNG'));
  });

  it('sends / with a query or a fragment to the page as /', async () => {
    for (const path of ['/?a', '/?a=1&b', '/index.html?x']) {
      const r = await fetch(`${origin}${path}`, { redirect: 'manual' });
      expect(r.status, path).toBe(302);
      expect(r.headers.get('location'), path).toBe('/dist/web/index.html');
    }
  });

  it('follows no symbolic link out of the served folders (real paths compared, a linked served folder allowed)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ssim-grad-serve-'));
    const away = mkdtempSync(join(tmpdir(), 'ssim-grad-away-'));
    writeFileSync(join(away, 'secret.txt'), 'not to be served\n');
    mkdirSync(join(away, 'derivations'));
    writeFileSync(join(away, 'derivations', 'a.html'), '<p>a</p>\n');
    mkdirSync(join(root, 'dist', 'web'), { recursive: true });
    writeFileSync(join(root, 'dist', 'web', 'index.html'), '<p>page</p>\n');
    symlinkSync(join(away, 'secret.txt'), join(root, 'dist', 'web', 'leak.txt'));
    // a served folder that is itself a link (as test/browser/page.test.ts links derivations) is served, its files too
    symlinkSync(join(away, 'derivations'), join(root, 'derivations'));
    mkdirSync(join(root, 'examples', 'pair'), { recursive: true });
    symlinkSync(join(away, 'secret.txt'), join(root, 'examples', 'pair', 'x.png'));
    symlinkSync(join(root, 'dist', 'web', 'index.html'), join(root, 'examples', 'pair', 'page.html'));
    expect(servedFile(root, '/dist/web/index.html')).toBe(join(root, 'dist', 'web', 'index.html'));
    expect(servedFile(root, '/derivations/a.html')).toBe(join(root, 'derivations', 'a.html'));
    expect(servedFile(root, '/examples/pair/page.html')).toBe(join(root, 'examples', 'pair', 'page.html'));
    expect(servedFile(root, '/dist/web/leak.txt')).toBeNull();
    expect(servedFile(root, '/examples/pair/x.png')).toBeNull();
    const server = pageServer(root);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${at}/dist/web/leak.txt`)).status).toBe(404);
      expect((await fetch(`${at}/examples/pair/x.png`)).status).toBe(404);
      const ok = await fetch(`${at}/derivations/a.html`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('<p>a</p>\n');
    } finally {
      server.close();
    }
  });

  it('sends nothing outside its folders: not the sources, not ../, not an encoded ../', async () => {
    for (const path of ['/package.json', '/src/cli.ts', '/derivations/../package.json', '/derivations/%2e%2e/package.json', '/examples/seed/gradient.ts', '/dist/web/../../README.md', '/derivations/%00']) {
      const r = await fetch(`${origin}${path}`);
      expect(r.status, path).toBe(404);
    }
    expect(servedFile(PACKAGE_ROOT, '/derivations/..%2f..%2fetc%2fpasswd')).toBeNull();
    expect(servedFile(PACKAGE_ROOT, '/derivations/ssim-tf.html')).toBe(join(PACKAGE_ROOT, 'derivations', 'ssim-tf.html'));
    expect((await fetch(`${origin}/derivations/ssim-tf.html`, { method: 'POST' })).status).toBe(405);
  });
});
