/**
 * `--variant-file FILE`: a user's variant, a module whose default export (or export `variant`) is a
 * declaration in the form of the built-ins (src/variants/types.ts, `defineVariant`). The file is
 * found in the arguments before they are parsed (its declaration adds its own flags), loaded
 * (TypeScript through tsx, no build step), copied into a plain declaration (a getter or a Proxy is
 * read once, here), checked by defineVariant with messages that name the field, and wrapped so that
 * every call into it (its loss, validate, options' checks) is bracketed for the --timeout of the
 * child process the command runs in (src/cli/isolate.ts, src/cli/channel.ts), and anything it throws
 * or returns amiss is bad input naming the file (exit 2), never an internal error.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../field/index.js';
import type { FieldNode } from '../graph/node.js';
import { defineVariant, flagOf, shown } from '../variants/define.js';
import type { GraphKit } from '../variants/kit.js';
import type { OptionDeclaration, VariantDeclaration } from '../variants/types.js';
import { inUserCode, inUserCodeAsync } from './channel.js';
import { VARIANT_FILE } from './isolate.js';

export { findVariantFile, VARIANT_FILE } from './isolate.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const EXPECTED = `expected a ${EXTENSIONS.join(', ')} module whose default export (or export named variant) is a variant declaration, defineVariant({ name, summary, options, loss })`;

/** A user's variant as the CLI loaded it. */
export interface LoadedVariant {
  /** The path as given. */
  readonly path: string;
  readonly decl: VariantDeclaration;
}

/** One line of a thrown value: its name and the first line of its message. */
export function oneLine(e: unknown): string {
  let message: string;
  let name = '';
  try {
    const err = e as { name?: unknown; message?: unknown };
    message = typeof err?.message === 'string' ? err.message : String(e);
    name = typeof err?.name === 'string' && err.name !== 'Error' && err.name !== 'InputError' ? `${err.name}: ` : '';
  } catch {
    // a thrown Proxy or an object whose toString throws
    message = 'a value that cannot be shown';
  }
  const first = message.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return `${name}${first.length > 300 ? `${first.slice(0, 300)}...` : first}`;
}

/** ssim-grad's own errors (from this copy of the package or another that loaded the user's file) are told by name. */
function isInputError(e: unknown): boolean {
  try {
    return e instanceof InputError || (e as { name?: unknown })?.name === 'InputError';
  } catch {
    return false;
  }
}

/** The where of every message: the flag and the file. */
const whereOf = (path: string): string => `--${VARIANT_FILE}: '${path}'`;

/** Loads, checks and wraps the declaration in FILE; every failure is an InputError naming the file and what was expected. */
export async function loadVariantFile(path: string): Promise<LoadedVariant> {
  const where = whereOf(path);
  const abs = resolve(path);
  if (!existsSync(abs)) throw new InputError(`${where} does not exist, ${EXPECTED}`);
  if (!statSync(abs).isFile()) throw new InputError(`${where} is not a file, ${EXPECTED}`);
  if (!EXTENSIONS.some((e) => abs.toLowerCase().endsWith(e))) throw new InputError(`${where}: ${EXPECTED}`);
  let mod: Record<string, unknown>;
  try {
    const url = pathToFileURL(abs).href;
    // tsx itself loads before the bracket: the timeout is the user's code's, not our loader's
    const tsImport = /\.m?ts$/i.test(abs) ? (await import('tsx/esm/api')).tsImport : undefined;
    mod = await inUserCodeAsync('import', async () => (tsImport !== undefined ? tsImport(url, import.meta.url) : import(url)) as Promise<Record<string, unknown>>);
  } catch (e) {
    throw new InputError(`${where} failed to load (${oneLine(e)}); ${EXPECTED}`);
  }
  // reading the exports may run the user's getters and Proxy traps: a bracket, and their throws named
  const found = inUserCode('declaration', () => {
    try {
      // tsx may hand a CommonJS-shaped namespace: { default: { default: decl } }
      const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';
      const nested = (v: unknown): unknown => (isObject(v) && !('loss' in v) && 'default' in v ? (v as { default: unknown }).default : v);
      const candidate = [nested(mod.default), mod.variant].find(isObject);
      return candidate === undefined ? undefined : plainDeclaration(candidate);
    } catch (e) {
      if (isInputError(e)) throw new InputError(`${where}: ${(e as Error).message}`);
      throw new InputError(`${where}: reading its export threw (${oneLine(e)}); ${EXPECTED}`);
    }
  });
  if (found === undefined) {
    throw new InputError(`${where} exports no variant declaration (its exports: ${Object.keys(mod).join(', ') || 'none'}); ${EXPECTED}`);
  }
  let decl: VariantDeclaration;
  try {
    decl = defineVariant(found);
  } catch (e) {
    // defineVariant's own words name the declaration and the field
    throw new InputError(`${where}: ${e instanceof TypeError ? e.message : oneLine(e)}`);
  }
  return { path, decl: guarded(decl, where) };
}

/** The fields of a declaration and of an option, the ones copied (anything else is not read). */
const DECLARATION_FIELDS = ['name', 'summary', 'options', 'downsamples', 'loss', 'doc', 'validate', 'scaleNote', 'tiles', 'kernels'] as const;
const OPTION_FIELDS = ['flag', 'help', 'kind', 'default', 'noun', 'check'] as const;
const BLOCK_FIELDS = ['p', 'h2', 'eq', 'twin', 'only', 'document', 'title', 'summary', 'options'] as const;

/**
 * A plain copy of the user's declaration, each field read once, where a read that throws (a getter,
 * a Proxy's trap, a revoked Proxy) is an InputError naming the field; what is not an object stays as
 * it is, for defineVariant to refuse by name.
 */
function plainDeclaration(d: object): VariantDeclaration {
  const read = (o: object, key: string, field: string): unknown => {
    try {
      return (o as Record<string, unknown>)[key];
    } catch (e) {
      throw new InputError(`reading the declaration's ${field} threw (${oneLine(e)})`);
    }
  };
  const keys = (o: object, field: string): string[] => {
    try {
      return Object.keys(o);
    } catch (e) {
      throw new InputError(`reading the keys of the declaration's ${field} threw (${oneLine(e)})`);
    }
  };
  const isArray = (v: unknown, field: string): v is unknown[] => {
    try {
      return Array.isArray(v);
    } catch (e) {
      throw new InputError(`reading the declaration's ${field} threw (${oneLine(e)})`);
    }
  };
  const isRecord = (v: unknown): v is object => v !== null && typeof v === 'object';
  const array = (v: unknown[], field: string, item: (e: unknown, f: string) => unknown): unknown[] => {
    const n = read(v, 'length', `${field}.length`);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1e6) throw new InputError(`the declaration's ${field} has length ${shown(n)}, expected an array`);
    return Array.from({ length: n }, (_, i) => item(read(v, String(i), `${field}[${i}]`), `${field}[${i}]`));
  };
  const fields = (o: object, names: readonly string[], field: string, each: (name: string, v: unknown, f: string) => unknown = (_, v) => v): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of names) {
      const v = read(o, k, `${field}${k}`);
      if (v !== undefined) out[k] = each(k, v, `${field}${k}`);
    }
    return out;
  };
  return fields(d, DECLARATION_FIELDS, '', (k, v, f) => {
    if (k === 'options' && isRecord(v) && !isArray(v, f)) {
      return Object.fromEntries(keys(v, f).map((key) => {
        const o = read(v, key, `options.${key}`);
        if (!isRecord(o) || isArray(o, `options.${key}`)) return [key, o];
        return [key, fields(o, OPTION_FIELDS, `options.${key}.`, (ok, ov, of) => (ok === 'default' && isArray(ov, of) ? array(ov, of, (e) => e) : ov))];
      }));
    }
    if (k === 'doc' && isArray(v, f)) {
      return array(v, f, (b, bf) => (isRecord(b) && !isArray(b, bf)
        ? fields(b, BLOCK_FIELDS, `${bf}.`, (bk, bv, of) => (bk === 'options' && isRecord(bv) && !isArray(bv, of) ? Object.fromEntries(keys(bv, of).map((key) => [key, read(bv, key, `${of}.${key}`)])) : bv))
        : b));
    }
    if (k === 'kernels' && isArray(v, f)) return array(v, f, (e) => e);
    return v;
  }) as unknown as VariantDeclaration;
}

/**
 * The declaration with every function of the user's bracketed and guarded: ssim-grad's own errors
 * (a shape that does not broadcast, an option refused) keep their message after the file's name;
 * anything else thrown is the file's mistake, named with what the function is expected to do. The
 * loss may build only with ctx.g (what it returns, and every node it hands to ctx.g, must come from
 * ctx.g or be one of ctx's inputs); a number option without a default must be given.
 */
function guarded(decl: VariantDeclaration, where: string): VariantDeclaration {
  const wrap = <A extends unknown[], R>(what: string, f: (...a: A) => R, expected: string) => (...a: A): R => {
    try {
      return inUserCode(what, () => f(...a));
    } catch (e) {
      if (isInputError(e)) throw new InputError(what === 'validate' ? (e as Error).message : `${where}: variant ${decl.name}: ${(e as Error).message}`);
      throw new InputError(`${where}: the ${what} of variant ${decl.name} threw (${oneLine(e)}); expected ${expected}`);
    }
  };
  const loss = wrap('loss', decl.loss, 'it to return a scalar field node built with ctx.g');
  const userValidate = decl.validate !== undefined ? wrap('validate', decl.validate, 'it to return, or to throw an InputError naming the option') : undefined;
  const options = Object.fromEntries(Object.entries(decl.options ?? {}).map(([key, o]): [string, OptionDeclaration] => {
    if (o.check === undefined) return [key, o];
    const check = wrap(`options.${key}.check`, o.check, 'it to return undefined for a good value or a string saying what is expected');
    return [key, {
      ...o,
      check: (v) => {
        const r = check(v);
        if (r !== undefined && typeof r !== 'string') throw new InputError(`${where}: options.${key}.check of variant ${decl.name} returned ${shown(r)}, expected undefined (a good value) or a string saying what is expected`);
        return r;
      },
    }];
  }));
  return {
    ...decl,
    ...(decl.options !== undefined ? { options } : {}),
    loss: (ctx) => {
      const built = new WeakSet<object>([ctx.x, ctx.y, ...Object.values(ctx.fields)]);
      const node = loss({ ...ctx, g: trackedKit(ctx.g, built, `${where}: variant ${decl.name}`) });
      if (node === null || typeof node !== 'object' || !built.has(node)) {
        const what = node !== null && typeof node === 'object' ? 'an object that ctx.g did not build' : shown(node);
        throw new InputError(`${where}: the loss of variant ${decl.name} returned ${what}, expected a scalar field node built with ctx.g`);
      }
      return node;
    },
    // before the user's own validate: a number option without a default is required
    validate: (values, ssim) => {
      for (const [key, o] of Object.entries(decl.options ?? {})) {
        if (o.kind !== 'field' && o.default === undefined && values[key] === undefined) {
          const flag = flagOf(key, o);
          throw new InputError(`${key} (--${flag}): the ${decl.name} variant needs it (${o.help}); it has no default, give --${flag} ${o.kind === 'number' ? 'N' : 'N,N,...'}`);
        }
      }
      userValidate?.(values, ssim);
    },
  };
}

/** Which arguments of each ctx.g builder are field nodes. */
const NODE_ARGS: Readonly<Record<string, readonly number[]>> = {
  ssim: [0, 1], ssimPlanes: [0, 1], csPlanes: [0, 1], ssimMap: [0, 1], windowed: [0, 1], window: [0], pool: [0], crop: [0], channels: [0],
  add: [0, 1], sub: [0, 1], mul: [0, 1], div: [0, 1], affine: [0], mean: [0], sum: [0], planeMean: [0], planeSum: [0],
};

/**
 * ctx.g with every node it builds recorded in `built`, and every node handed to it checked against
 * `built` (a look-alike object would break the evaluator far from the user's code). A map's
 * function must return a scalar expression node (built with g.e).
 */
function trackedKit(g: GraphKit, built: WeakSet<object>, where: string): GraphKit {
  const check = (fn: string, which: string, v: unknown): void => {
    if (v === null || typeof v !== 'object' || !built.has(v)) throw new InputError(`${where}: ctx.g.${fn}: its ${which} is ${v !== null && typeof v === 'object' ? 'an object that ctx.g did not build' : shown(v)}, expected a field node (ctx.x, ctx.y, ctx.fields.K or one built with ctx.g)`);
  };
  const out: Record<string, unknown> = { ...g };
  for (const [fn, at] of Object.entries(NODE_ARGS)) {
    const f = (g as unknown as Record<string, (...a: unknown[]) => FieldNode>)[fn]!;
    out[fn] = (...a: unknown[]): FieldNode => {
      for (const i of at) check(fn, `argument ${i + 1}`, a[i]);
      const n = f(...a);
      built.add(n);
      return n;
    };
  }
  out['map'] = (f: Parameters<GraphKit['map']>[0], args: Parameters<GraphKit['map']>[1], opts?: Parameters<GraphKit['map']>[2]): FieldNode => {
    if (args === null || typeof args !== 'object') throw new InputError(`${where}: ctx.g.map: its arguments are ${shown(args)}, expected an object of field nodes by variable name`);
    for (const [k, v] of Object.entries(args)) check('map', `argument ${k}`, v);
    const scalar = (what: string, e: unknown): void => {
      const n = e as { op?: unknown; args?: unknown } | null;
      if (n === null || typeof n !== 'object' || typeof n.op !== 'string' || !Array.isArray(n.args)) throw new InputError(`${where}: ctx.g.map: its ${what} returned ${shown(e)}, expected a scalar expression built with ctx.g.e`);
    };
    const n = g.map((v) => {
      const e = f(v);
      scalar('function', e);
      return e;
    }, args, opts?.partials === undefined ? opts : {
      ...opts,
      partials: (v) => {
        const ps = opts.partials!(v);
        for (const [k, p] of Object.entries(ps ?? {})) scalar(`partial ${k}`, p);
        return ps;
      },
    });
    built.add(n);
    return n;
  };
  return out as unknown as GraphKit;
}

