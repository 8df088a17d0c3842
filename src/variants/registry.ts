/**
 * The registry: the built-in variants, one file each, in the order --help lists them. This file
 * and the variants' own are the only ones that know a variant by name; everything else asks here.
 */
import { InputError, ownEntry, shape4, toField, type Shape4 } from '../field/index.js';
import { declareVariantOptionKeys, describeValue, PRESET_DEFAULTS, validateOptions, type SsimOptions } from '../model/options.js';
import { flagOf } from './define.js';
import type { FieldValue, OptionDeclaration, VariantDeclaration, VariantValues } from './types.js';
import ssim from './ssim.js';
import msSsim, { type MsSsimOptions } from './ms-ssim.js';
import dssim, { type DssimOptions } from './dssim.js';
import gsLoss, { type GsLossOptions } from './3dgs-loss.js';
import wang, { type WangOptions } from './wang.js';

export const BUILT_IN_VARIANTS: readonly VariantDeclaration[] = [ssim, msSsim, dssim, gsLoss, wang];

/** The options the built-in variants declare, typed (each interface beside its variant's declaration). */
export type BuiltInVariantOptions = MsSsimOptions & DssimOptions & GsLossOptions & WangOptions;
declareVariantOptionKeys(BUILT_IN_VARIANTS.flatMap((d) => Object.keys(d.options ?? {})));

/** The built-in variants' names. */
export const VARIANT_NAMES: readonly string[] = BUILT_IN_VARIANTS.map((v) => v.name);

/** The plain SSIM declaration (what no --variant means). */
export const PLAIN: VariantDeclaration = ssim;

/** A variant as options name it: a built-in by name, or a declaration (a user's). */
export type VariantRef = string | VariantDeclaration;

/** What the code outside src/variants asks of a variant rather than its name (VariantDeclaration's fields, defaults filled). */
export interface VariantTraits {
  readonly computedBy: 'graph' | 'ssim-kernels';
  readonly outputs: 'named' | 'ssim';
}

/**
 * A variant's traits: a built-in's as it declares them, a user's the defaults (its graph computes
 * it, the outputs name it). A name that is no built-in's gets the defaults too (the lookup that
 * follows refuses it, with its message).
 */
export function variantTraits(ref: VariantRef | undefined): VariantTraits {
  const decl = ref === undefined ? PLAIN : typeof ref === 'string' ? BUILT_IN_VARIANTS.find((v) => v.name === ref) : ref;
  const builtIn = decl !== undefined && BUILT_IN_VARIANTS.includes(decl);
  return {
    computedBy: builtIn ? (decl.computedBy ?? 'graph') : 'graph',
    outputs: builtIn ? (decl.outputs ?? 'named') : 'named',
  };
}

/** Whether the generated SSIM kernels compute the variant (its `computedBy`), not its graph. */
export const bySsimKernels = (ref: VariantRef | undefined): boolean => variantTraits(ref).computedBy === 'ssim-kernels';

/** Whether the outputs name the variant (its `outputs`), or are SSIM's own. */
export const namedInOutputs = (ref: VariantRef | undefined): boolean => variantTraits(ref).outputs === 'named';

/** The declaration a reference names; an unknown name is exit 2 naming the choices. */
export function findVariant(ref: VariantRef | undefined): VariantDeclaration {
  if (ref === undefined) return PLAIN;
  if (typeof ref === 'object' && ref !== null) return ref;
  if (typeof ref !== 'string') throw new InputError(`variant (--variant): got ${describeValue(ref)}, expected a variant's name (${VARIANT_NAMES.join(', ')}) or a declaration (defineVariant)`);
  const hit = BUILT_IN_VARIANTS.find((v) => v.name === ref);
  if (hit === undefined) throw new InputError(`variant (--variant): got '${String(ref)}', expected one of ${VARIANT_NAMES.join(', ')} (or --variant-file FILE)`);
  return hit;
}

/** The name of the variant a reference names. */
export const variantName = (ref: VariantRef | undefined): string => (ref === undefined ? PLAIN.name : typeof ref === 'string' ? ref : ref.name);

/** Every option key a built-in variant declares, with its owner. */
function ownerOf(key: string): { decl: VariantDeclaration; option: OptionDeclaration } | undefined {
  for (const decl of BUILT_IN_VARIANTS) {
    const option = ownEntry(decl.options, key);
    if (option !== undefined) return { decl, option };
  }
  return undefined;
}

/** A variant's options and fields read from an options object, checked. */
export interface ResolvedVariant {
  readonly decl: VariantDeclaration;
  /** Number options, defaults filled in. */
  readonly values: VariantValues;
  /** Field options as NCHW float64 data. */
  readonly fields: Readonly<Record<string, { shape: Shape4; data: Float64Array }>>;
  /** The SSIM options, without the variant's. */
  readonly ssimOptions: SsimOptions;
}

const show = (v: unknown): string => (Array.isArray(v) ? JSON.stringify(v) : String(v));

/**
 * Reads and checks the variant named by `variant` and its options (beside the SSIM options, or in
 * `variantOptions`): an option of another
 * variant, a value its check refuses, a missing field, downsampling where the variant does not
 * take it are exit-2 errors naming the option and its flag.
 */
export function resolveVariant(given: { readonly variant?: VariantRef; readonly variantOptions?: Readonly<Record<string, unknown>> }): ResolvedVariant {
  validateOptions(given);
  const { variantOptions, ...top } = given as Readonly<Record<string, unknown>> & { variantOptions?: Readonly<Record<string, unknown>> };
  if (variantOptions !== undefined && (variantOptions === null || typeof variantOptions !== 'object' || Array.isArray(variantOptions))) {
    throw new InputError(`variantOptions: got ${describeValue(variantOptions)}, expected an object of the variant's options by key`);
  }
  const options: Readonly<Record<string, unknown>> & { variant?: VariantRef } = { ...top, ...(variantOptions ?? {}) };
  const decl = findVariant(options.variant);
  const own = decl.options ?? {};
  // a user's option may not take a built-in's key: the built-in's flag would fill it
  if (!BUILT_IN_VARIANTS.includes(decl)) {
    for (const key of Object.keys(own)) {
      const other = ownerOf(key);
      if (other !== undefined) throw new InputError(`variant ${decl.name}: its option ${key} has the key of the ${other.decl.name} variant's (--${flagOf(key, other.option)}); choose another key`);
    }
  }
  const values: Record<string, number | readonly number[]> = {};
  const fields: Record<string, { shape: Shape4; data: Float64Array }> = {};
  const ssimOptions: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(options)) {
    if (key === 'variant') continue;
    const option = ownEntry(own, key);
    if (option === undefined) {
      const other = ownerOf(key);
      if (other !== undefined && v !== undefined) {
        throw new InputError(`${key} (--${flagOf(key, other.option)}): only the ${other.decl.name} variant takes ${other.option.noun ?? 'it'}, the variant is ${decl.name}`);
      }
      if (other === undefined) ssimOptions[key] = v;
      continue;
    }
    if (v === undefined) continue;
    const name = `${key} (--${flagOf(key, option)})`;
    if (option.kind === 'field') {
      const t = v as FieldValue;
      if (t === null || typeof t !== 'object' || !('shape' in t) || !('data' in t)) throw new InputError(`${name}: got ${describeValue(t)}, expected a tensor { shape, data }`);
      const f = toField(t, key);
      fields[key] = { shape: shape4(t, key), data: f.data };
      continue;
    }
    const ok = option.kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : Array.isArray(v) && v.length > 0 && v.every((w) => typeof w === 'number' && Number.isFinite(w));
    const expected = option.kind === 'number' ? 'a number' : 'one or more numbers';
    // a value of another type is named with its type; a number out of range speaks for itself
    const rightType = option.kind === 'number' ? typeof v === 'number' : Array.isArray(v) && v.every((w) => typeof w === 'number');
    if (!ok) throw new InputError(`${name}: got ${rightType ? show(v) : describeValue(v)}, expected ${expected}`);
    const refused = option.check?.(v as number | readonly number[]);
    if (refused !== undefined) throw new InputError(`${name}: got ${show(v)}, ${refused}`);
    values[key] = v as number | readonly number[];
  }
  for (const [key, option] of Object.entries(own)) {
    if (option.kind === 'field') {
      if (fields[key] === undefined) throw new InputError(`${key} (--${flagOf(key, option)}): the ${decl.name} variant needs it (${option.help})`);
    } else if (values[key] === undefined) {
      // a number option without a default is required: its loss would read undefined
      if (option.default === undefined) {
        throw new InputError(`${key} (--${flagOf(key, option)}): the ${decl.name} variant needs it (${option.help}); it has no default, give --${flagOf(key, option)} ${option.kind === 'number' ? 'N' : 'N,N,...'}`);
      }
      // the default passes the option's own check like a given value (a declaration whose check refuses its default is wrong)
      const refused = option.check?.(option.default);
      if (refused !== undefined) {
        throw new InputError(`variant ${decl.name}: options.${key}.default (--${flagOf(key, option)}) is ${show(option.default)}, which its own check refuses: ${refused}`);
      }
      values[key] = option.default;
    }
  }
  const plain = ssimOptions as SsimOptions;
  if (decl.downsamples === false && (plain.downsample ?? PRESET_DEFAULTS[plain.preset ?? 'pytorch-ssim']?.downsample ?? 1) !== 1) {
    throw new InputError(`downsample (--downsample): the ${decl.name} variant does not downsample first; use --downsample 1`);
  }
  decl.validate?.(values, plain);
  return { decl, values, fields, ssimOptions: plain };
}
