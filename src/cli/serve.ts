/**
 * `ssim-grad serve [--port N]`: the browser page (dist/web, built by `npm run build`) on localhost,
 * with the derivations it links to and the built-in pair, from Node's http alone. The page is
 * served cross-origin isolated (COOP/COEP), so its web workers share memory; nothing outside the
 * package is read, and only these folders of it.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../field/index.js';
import type { Command } from './args.js';

/** The package's root: two folders above this file, from src/cli (tsx) and from dist/cli alike. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The folders served, relative to the package root; `/` goes to the page. */
export const SERVED = ['dist/web', 'derivations', 'examples/pair'] as const;
export const PAGE = '/dist/web/index.html';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png',
  '.json': 'application/json', '.md': 'text/markdown; charset=utf-8', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.svg': 'image/svg+xml',
};

/** --port: an integer from 0 (any free port) to 65535. */
export function portOf(text: string | undefined): number {
  if (text === undefined) return 8080;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n > 65535) throw new InputError(`--port: got '${text}', expected an integer from 0 (any free port) to 65535`);
  return n;
}

/** A path's real path (links resolved), or null where it does not exist. */
function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * The file a request path names, or null where it is outside the served folders: by its name, and
 * by its real path (a symbolic link inside a served folder that leads out of every served folder's
 * real path is not followed).
 */
export function servedFile(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const rel = normalize(path).replace(/^[/\\]+/, '');
  if (rel.split(/[/\\]/).includes('..')) return null;
  if (!SERVED.some((d) => rel === d || rel.startsWith(`${d}/`) || rel.startsWith(`${d}${sep}`))) return null;
  const file = join(root, rel);
  if (!(existsSync(file) && statSync(file).isFile())) return null;
  const target = real(file);
  const inside = SERVED.some((d) => {
    const top = real(join(root, d));
    return top !== null && target !== null && (target === top || target.startsWith(top.endsWith(sep) ? top : `${top}${sep}`));
  });
  return inside ? file : null;
}

/** The server (not yet listening). */
export function pageServer(root = PACKAGE_ROOT): Server {
  return createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    };
    const url = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const bare = url.split(/[?#]/)[0]!;
    if (bare === '/' || bare === '/index.html') {
      res.writeHead(302, { ...headers, Location: PAGE }).end();
      return;
    }
    const file = servedFile(root, url);
    if (file === null) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${url}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
}

/** serve, by name (registered by src/cli.ts). */
export const serveCommands: Record<string, Command> = {
  serve: {
    usage: 'ssim-grad serve [--port N]',
    summary: 'serve the browser page (SSIM, both gradients and the checker on your own images, offline) on http://127.0.0.1; Ctrl-C stops',
    options: { port: { value: true, help: 'the port on 127.0.0.1; 0 picks a free one', default: '8080' } },
    async run(parsed, out) {
      if (parsed.positionals.length > 0) throw new InputError(`serve: takes no files or words, got '${parsed.positionals.join(' ')}'; the usage is ssim-grad serve [--port N]`);
      const port = portOf(parsed.values.get('port'));
      if (!existsSync(join(PACKAGE_ROOT, PAGE))) throw new InputError(`serve: the page is not built (no ${PAGE.slice(1)}); run npm run build`);
      const server = pageServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) =>
          reject(
            e.code === 'EADDRINUSE'
              ? new InputError(`--port: ${port} is in use; pick another with --port N, or --port 0 for any free port`)
              : e.code === 'EACCES'
                ? new InputError(`--port: ${port} needs privileges this process does not have; pick one above 1023`)
                : e,
          ),
        );
        server.listen(port, '127.0.0.1', resolve);
      });
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      out(`serving the ssim-grad page at http://127.0.0.1:${bound}${PAGE} (offline: nothing leaves this machine; Ctrl-C stops)`);
      // runs until the process is stopped (SIGINT, SIGTERM: the default action)
      return new Promise<number>((resolve) => server.once('close', () => resolve(0)));
    },
  },
};
