/**
 * `defineVariant`: checks a declaration's form and returns it (built-ins and users' alike). Every
 * refusal names the field as it is spelt in the declaration (`options.gain.default`, `doc[2].p`).
 */
import type { OptionDeclaration, VariantDeclaration } from './types.js';

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const KEY = /^[A-Za-z][A-Za-z0-9]*$/;
const FLAG = /^[a-z][a-z0-9-]*$/;

/** A value as a message shows it: strings quoted, arrays and plain objects as JSON where short. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  try {
    if (Array.isArray(v)) return `an array of ${v.length}`;
  } catch {
    // a revoked Proxy, or one whose length getter throws
  }
  return 'an object';
}

/** The declaration, after checking its form; a broken declaration throws a TypeError naming the field. */
export function defineVariant<D extends VariantDeclaration>(d: D): D {
  if (d === null || typeof d !== 'object') throw new TypeError(`defineVariant: expected a declaration object, got ${shown(d)}`);
  const where = `variant ${typeof d.name === 'string' ? `'${d.name}'` : 'declaration'}`;
  const fail = (field: string, what: string): never => {
    throw new TypeError(`${where}: ${field} ${what}`);
  };
  if (typeof d.name !== 'string' || !NAME.test(d.name)) fail('name', `must be lower case letters, digits and dashes, got ${shown(d.name)}`);
  if (typeof d.summary !== 'string' || d.summary.trim() === '') fail('summary', `must be a non-empty string, got ${shown(d.summary)}`);
  if (typeof d.loss !== 'function') fail('loss', `must be a function (ctx) => field node built with ctx.g, got ${shown(d.loss)}`);
  if (d.options !== undefined) {
    if (d.options === null || typeof d.options !== 'object' || Array.isArray(d.options)) fail('options', `must be an object of option declarations by key, got ${shown(d.options)}`);
    for (const [key, o] of Object.entries(d.options)) checkOption(fail, key, o);
  }
  if (d.validate !== undefined && typeof d.validate !== 'function') fail('validate', `must be a function (values, ssimOptions) => void, got ${shown(d.validate)}`);
  if (d.downsamples !== undefined && typeof d.downsamples !== 'boolean') fail('downsamples', `must be true or false, got ${shown(d.downsamples)}`);
  if (d.tiles !== undefined && typeof d.tiles !== 'boolean') fail('tiles', `must be true or false, got ${shown(d.tiles)}`);
  if (d.scaleNote !== undefined && typeof d.scaleNote !== 'string') fail('scaleNote', `must be a string, got ${shown(d.scaleNote)}`);
  if (d.computedBy !== undefined && d.computedBy !== 'graph' && d.computedBy !== 'ssim-kernels') fail('computedBy', `must be 'graph' or 'ssim-kernels', got ${shown(d.computedBy)}`);
  if (d.outputs !== undefined && d.outputs !== 'named' && d.outputs !== 'ssim') fail('outputs', `must be 'named' or 'ssim', got ${shown(d.outputs)}`);
  if (d.kernels !== undefined && !Array.isArray(d.kernels)) fail('kernels', `must be an array of kernel families, got ${shown(d.kernels)}`);
  if (d.doc !== undefined) {
    if (!Array.isArray(d.doc)) fail('doc', `must be an array of blocks ({ p }, { h2 }, { document }), got ${shown(d.doc)}`);
    d.doc.forEach((b, i) => checkBlock(fail, `doc[${i}]`, b));
  }
  return d;
}

/** Keys an option may not take: the images' names, the variant's own, and SSIM's options (which the option would hide). */
const RESERVED = new Set([
  'x', 'y', 'variant', 'variantOptions', 'wrt', 'preset', 'window', 'size', 'sigma', 'truncate', 'k1', 'k2', 'dataRange', 'padding',
  'sampleCovariance', 'crop', 'skipShortAxes', 'downsample', 'reduction', 'precision',
]);

type Fail = (field: string, what: string) => never;

const finiteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function checkOption(fail: Fail, key: string, o: OptionDeclaration): void {
  // the key's own words predate the field names (and tests read them)
  if (!KEY.test(key)) fail(`option key ${JSON.stringify(key)}`, 'must be an identifier (letters and digits)');
  if (RESERVED.has(key)) fail(`option key ${JSON.stringify(key)}`, 'is taken (the images, the variant or an SSIM option of that name); choose another');
  const at = `options.${key}`;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(at, `must be an object { kind, help, default?, check? }, got ${shown(o)}`);
  if (!['number', 'numbers', 'field'].includes(o.kind)) fail(`${at}.kind`, `must be 'number', 'numbers' or 'field', got ${shown(o.kind)}`);
  if (typeof o.help !== 'string') fail(`${at}.help`, `must be a string, got ${shown(o.help)}`);
  if (o.flag !== undefined && (typeof o.flag !== 'string' || !FLAG.test(o.flag))) fail(`${at}.flag`, `must be lower case letters, digits and dashes, got ${shown(o.flag)}`);
  if (o.noun !== undefined && typeof o.noun !== 'string') fail(`${at}.noun`, `must be a string, got ${shown(o.noun)}`);
  if (o.check !== undefined && typeof o.check !== 'function') fail(`${at}.check`, `must be a function (value) => string | undefined, got ${shown(o.check)}`);
  const d: unknown = o.default;
  if (d === undefined) return;
  if (o.kind === 'field') fail(`${at}.default`, 'must be absent: a field option has no default');
  if (o.kind === 'number' && !finiteNumber(d)) fail(`${at}.default`, `must be a finite number, got ${shown(d)}`);
  if (o.kind === 'numbers' && !(Array.isArray(d) && d.length > 0 && d.every(finiteNumber))) fail(`${at}.default`, `must be a non-empty array of finite numbers, got ${shown(d)}`);
}

function checkBlock(fail: Fail, at: string, b: unknown): void {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) fail(at, `must be a block { p }, { h2 }, { eq } or { document }, got ${shown(b)}`);
  const block = b as Record<string, unknown>;
  const kinds = ['p', 'h2', 'eq', 'document'].filter((k) => block[k] !== undefined);
  if (kinds.length !== 1) fail(at, `must hold exactly one of p, h2, eq, document, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`);
  for (const k of ['p', 'h2', 'eq', 'document', 'only', 'twin', 'title', 'summary']) {
    if (block[k] !== undefined && typeof block[k] !== 'string') fail(`${at}.${k}`, `must be a string, got ${shown(block[k])}`);
  }
  const opts = block['options'];
  if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) fail(`${at}.options`, `must be an object of SSIM options, got ${shown(opts)}`);
}

/** The option's flag on the command line. */
export const flagOf = (key: string, o: OptionDeclaration): string => o.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
