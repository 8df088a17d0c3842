/**
 * The kernel families `npm run generate` writes: one file src/generated/<name>.ts each, and one
 * table <name>Kernels in src/generated/index.ts. Each is a pointwise map of the window moments
 * (src/model/maps.ts, or a variant's own) on the one schedule of src/emit/kernels.ts; the boundary rule is a runtime
 * parameter of every kernel. A plain list, so that a registry of variants can supply it.
 */
import { BUILT_IN_VARIANTS } from '../variants/registry.js';
import type { KernelFamily, VariantDeclaration } from '../variants/types.js';

export type { KernelFamily, StorageSuffix } from '../variants/types.js';

/**
 * The families, in the order the built-in variants declare them (src/variants: plain SSIM's, then
 * MS-SSIM's cs, then Wang's form): a plain list, read from the registry.
 */
export const KERNEL_FAMILIES: readonly KernelFamily[] = BUILT_IN_VARIANTS.flatMap((v) => v.kernels ?? []);

/** The built-in variant whose kernels a family is (the 3DGS loss's for gsLoss). */
export function variantOfFamily(family: KernelFamily): VariantDeclaration {
  const v = BUILT_IN_VARIANTS.find((d) => (d.kernels ?? []).includes(family));
  if (v === undefined) throw new Error(`no built-in variant declares the kernel family '${family.name}'`);
  return v;
}

/** A number option's default in the variant that declares a family (the 3DGS loss's lambda): the one home of that default. */
export function familyDefault(familyName: string, option: string): number {
  const family = KERNEL_FAMILIES.find((f) => f.name === familyName);
  if (family === undefined) throw new Error(`no kernel family '${familyName}'`);
  const d = variantOfFamily(family).options?.[option]?.default;
  if (typeof d !== 'number') throw new Error(`the variant of ${familyName} has no number option '${option}'`);
  return d;
}
