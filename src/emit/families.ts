/**
 * The kernel families `npm run generate` writes: one file src/generated/<name>.ts each, and one
 * table <name>Kernels in src/generated/index.ts. Each is a pointwise map of the window moments
 * (src/model/maps.ts, or a variant's own) on the one schedule of src/emit/kernels.ts; the boundary rule is a runtime
 * parameter of every kernel. A plain list, so that a registry of variants can supply it.
 */
import { BUILT_IN_VARIANTS } from '../variants/registry.js';
import type { KernelFamily } from '../variants/types.js';

export type { KernelFamily, StorageSuffix } from '../variants/types.js';

/**
 * The families, in the order the built-in variants declare them (src/variants: plain SSIM's, then
 * MS-SSIM's cs, then Wang's form): a plain list, read from the registry.
 */
export const KERNEL_FAMILIES: readonly KernelFamily[] = BUILT_IN_VARIANTS.flatMap((v) => v.kernels ?? []);
