/**
 * `--variant-file FILE`: a user's variant, a module whose default export (or export `variant`) is a
 * declaration in the form of the built-ins (src/variants/types.ts, `defineVariant`). The file is
 * found in the arguments before they are parsed (its declaration adds its own flags), loaded
 * (TypeScript through tsx, no build step), checked by defineVariant, and wrapped so that a loss or a
 * validate that throws is bad input naming the file (exit 2), never an internal error.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../field/index.js';
import { defineVariant } from '../variants/define.js';
import type { VariantDeclaration } from '../variants/types.js';

/** The flag, without dashes. */
export const VARIANT_FILE = 'variant-file';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const EXPECTED = `expected a ${EXTENSIONS.join(', ')} module whose default export (or export named variant) is a variant declaration, defineVariant({ name, summary, options, loss })`;

/** A user's variant as the CLI loaded it. */
export interface LoadedVariant {
  /** The path as given. */
  readonly path: string;
  readonly decl: VariantDeclaration;
}

/** The value of --variant-file in raw arguments (`--variant-file F` or `--variant-file=F`), or undefined. */
export function findVariantFile(argv: readonly string[]): string | undefined {
  const at = argv.findIndex((a) => a === `--${VARIANT_FILE}` || a.startsWith(`--${VARIANT_FILE}=`));
  if (at < 0) return undefined;
  const arg = argv[at]!;
  const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
  if (v === undefined || v === '') throw new InputError(`--${VARIANT_FILE}: expected a value, the variant's module (${EXTENSIONS.join(', ')})`);
  return v;
}

/** One line of a thrown value: its name and the first line of its message. */
export function oneLine(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const first = message.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const name = typeof err?.name === 'string' && err.name !== 'Error' && err.name !== 'InputError' ? `${err.name}: ` : '';
  return `${name}${first.length > 300 ? `${first.slice(0, 300)}...` : first}`;
}

/** ssim-grad's own errors (from this copy of the package or another that loaded the user's file) are told by name. */
const isInputError = (e: unknown): boolean => e instanceof InputError || (e as { name?: unknown })?.name === 'InputError';

/** Loads, checks and wraps the declaration in FILE; every failure is an InputError naming the file and what was expected. */
export async function loadVariantFile(path: string): Promise<LoadedVariant> {
  const where = `--${VARIANT_FILE}: '${path}'`;
  const abs = resolve(path);
  if (!existsSync(abs)) throw new InputError(`${where} does not exist, ${EXPECTED}`);
  if (!statSync(abs).isFile()) throw new InputError(`${where} is not a file, ${EXPECTED}`);
  if (!EXTENSIONS.some((e) => abs.toLowerCase().endsWith(e))) throw new InputError(`${where}: ${EXPECTED}`);
  let mod: Record<string, unknown>;
  try {
    const url = pathToFileURL(abs).href;
    if (/\.m?ts$/i.test(abs)) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    } else mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${where} failed to load (${oneLine(e)}); ${EXPECTED}`);
  }
  // tsx may hand a CommonJS-shaped namespace: { default: { default: decl } }
  const nested = (v: unknown): unknown => (v !== null && typeof v === 'object' && !('loss' in v) && 'default' in v ? (v as { default: unknown }).default : v);
  const candidate = [nested(mod.default), mod.variant].find((v) => v !== null && typeof v === 'object');
  if (candidate === undefined) {
    throw new InputError(`${where} exports no variant declaration (its exports: ${Object.keys(mod).join(', ') || 'none'}); ${EXPECTED}`);
  }
  let decl: VariantDeclaration;
  try {
    decl = defineVariant(candidate as VariantDeclaration);
  } catch (e) {
    // defineVariant's own words name the declaration and what is wrong with it
    throw new InputError(`${where}: ${e instanceof TypeError ? e.message : oneLine(e)}`);
  }
  return { path, decl: guarded(decl, where) };
}

/**
 * The declaration with its loss and validate guarded: ssim-grad's own errors (a shape that does not
 * broadcast, an option refused) keep their message after the file's name; anything else thrown is
 * the file's mistake, named with what its loss is expected to do.
 */
function guarded(decl: VariantDeclaration, where: string): VariantDeclaration {
  const wrap = <A extends unknown[], R>(what: string, f: (...a: A) => R, expected: string) => (...a: A): R => {
    try {
      return f(...a);
    } catch (e) {
      if (isInputError(e)) throw new InputError(what === 'validate' ? (e as Error).message : `${where}: variant ${decl.name}: ${(e as Error).message}`);
      throw new InputError(`${where}: the ${what} of variant ${decl.name} threw (${oneLine(e)}); expected ${expected}`);
    }
  };
  const loss = wrap('loss', decl.loss, 'it to return a scalar field node built with ctx.g');
  return {
    ...decl,
    loss: (ctx) => {
      const node = loss(ctx);
      if (node === null || typeof node !== 'object' || !('kind' in node) || !('shape' in node)) {
        throw new InputError(`${where}: the loss of variant ${decl.name} returned ${String(node)}, expected a scalar field node built with ctx.g`);
      }
      return node;
    },
    ...(decl.validate !== undefined ? { validate: wrap('validate', decl.validate, 'it to return, or to throw an InputError naming the option') } : {}),
  };
}
