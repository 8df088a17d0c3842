/**
 * A user's variant file in the browser: a JavaScript ES module (`.js`, `.mjs`) whose default export
 * (or export `variant`) is a declaration, `defineVariant({ ... })` as for `--variant-file`. Its
 * imports of `ssim-grad` (or `ssim-grad/browser`) are pointed at this package's browser bundle, and
 * it is imported from a blob: URL. A `.ts` file cannot run here (the browser has no TypeScript
 * compiler, and the package bundles none): compile it first, e.g.
 * `npx esbuild my-variant.ts --format=esm --outfile=my-variant.js`.
 */
import { InputError } from '../field/index.js';
import { defineVariant } from '../variants/define.js';
import type { VariantDeclaration } from '../variants/types.js';

/** A variant file as the page holds it: its name and its text. */
export interface VariantSource {
  readonly name: string;
  readonly source: string;
  /** Where this package's browser bundle is (setLibraryUrl's, when not given): a worker has no page to ask. */
  readonly libraryUrl?: string;
}

const EXPECTED = 'expected a .js or .mjs module whose default export (or export named variant) is a variant declaration, defineVariant({ name, summary, options, loss })';

/** The bundle a variant file's imports of ssim-grad are pointed at (set by the page or the caller). */
let libraryUrl: string | null = null;

/** Where this package's browser bundle (dist/web/ssim-grad.js) is, for variant files that import it. */
export function setLibraryUrl(url: string | URL): void {
  libraryUrl = String(url);
}

const cache = new Map<string, Promise<VariantDeclaration>>();

/** Loads and checks a variant file's declaration; every failure is an InputError naming the file. */
export function loadVariantSource(v: VariantSource): Promise<VariantDeclaration> {
  const key = `${v.name}\n${v.source}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = load(v);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function load(v: VariantSource): Promise<VariantDeclaration> {
  const where = `variant file '${v.name}'`;
  if (/\.m?ts$/i.test(v.name)) {
    throw new InputError(`${where}: a TypeScript variant cannot run in the browser (no compiler here); compile it to .js first (npx esbuild ${v.name} --format=esm --outfile=${v.name.replace(/\.m?ts$/i, '.js')}) and drop the .js`);
  }
  if (!/\.m?js$/i.test(v.name)) throw new InputError(`${where}: ${EXPECTED}`);
  const lib = v.libraryUrl ?? libraryUrl;
  const text = lib === null ? v.source : v.source.replace(/((?:from|import)\s*\(?\s*)(['"])ssim-grad(?:\/browser)?\2/g, (_m, lead: string, q: string) => `${lead}${q}${lib}${q}`);
  let mod: Record<string, unknown>;
  const url = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  try {
    mod = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${where} failed to load (${e instanceof Error ? `${e.name}: ${e.message}`.split('\n')[0] : String(e)}); ${EXPECTED}`);
  } finally {
    URL.revokeObjectURL(url);
  }
  const found = [mod['default'], mod['variant']].find((d) => d !== null && typeof d === 'object');
  if (found === undefined) throw new InputError(`${where} exports no variant declaration (its exports: ${Object.keys(mod).join(', ') || 'none'}); ${EXPECTED}`);
  try {
    return defineVariant(found as VariantDeclaration);
  } catch (e) {
    throw new InputError(`${where}: ${(e as Error).message}`);
  }
}
