/** `defineVariant`: checks a declaration's form and returns it (built-ins and users' alike). */
import type { OptionDeclaration, VariantDeclaration } from './types.js';

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const KEY = /^[A-Za-z][A-Za-z0-9]*$/;

/** The declaration, after checking its form; a broken declaration throws naming what is wrong. */
export function defineVariant<D extends VariantDeclaration>(d: D): D {
  const where = `variant ${typeof d?.name === 'string' ? `'${d.name}'` : 'declaration'}`;
  if (d === null || typeof d !== 'object') throw new TypeError(`defineVariant: expected a declaration object, got ${String(d)}`);
  if (typeof d.name !== 'string' || !NAME.test(d.name)) throw new TypeError(`${where}: name must be lower case letters, digits and dashes, got ${JSON.stringify(d.name)}`);
  if (typeof d.summary !== 'string' || d.summary.trim() === '') throw new TypeError(`${where}: summary must be a non-empty string`);
  if (typeof d.loss !== 'function') throw new TypeError(`${where}: loss must be a function (ctx) => field node`);
  for (const [key, o] of Object.entries(d.options ?? {})) checkOption(where, key, o);
  return d;
}

/** Keys an option may not take: the images' names, the variant's own, and SSIM's options (which the option would hide). */
const RESERVED = new Set([
  'x', 'y', 'variant', 'variantOptions', 'wrt', 'preset', 'window', 'size', 'sigma', 'truncate', 'k1', 'k2', 'dataRange', 'padding',
  'sampleCovariance', 'crop', 'skipShortAxes', 'downsample', 'reduction', 'precision',
]);

function checkOption(where: string, key: string, o: OptionDeclaration): void {
  if (!KEY.test(key)) throw new TypeError(`${where}: option key ${JSON.stringify(key)} must be an identifier (letters and digits)`);
  if (RESERVED.has(key)) throw new TypeError(`${where}: option key ${JSON.stringify(key)} is taken (the images, the variant or an SSIM option of that name); choose another`);
  if (!['number', 'numbers', 'field'].includes(o?.kind)) throw new TypeError(`${where}: option ${key}: kind must be 'number', 'numbers' or 'field'`);
  if (typeof o.help !== 'string') throw new TypeError(`${where}: option ${key}: help must be a string`);
  if (o.flag !== undefined && !/^[a-z][a-z0-9-]*$/.test(o.flag)) throw new TypeError(`${where}: option ${key}: flag must be lower case letters, digits and dashes`);
  if (o.kind === 'field' && o.default !== undefined) throw new TypeError(`${where}: option ${key}: a field option has no default`);
}

/** The option's flag on the command line. */
export const flagOf = (key: string, o: OptionDeclaration): string => o.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
