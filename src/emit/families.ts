/**
 * The kernel families `npm run generate` writes: one file src/generated/<name>.ts each, and one
 * table <name>Kernels in src/generated/index.ts. Each is a pointwise map of the window moments
 * (src/ssim/maps.ts, or a variant's own) on the one schedule of src/emit/kernels.ts; the boundary rule is a runtime
 * parameter of every kernel. A plain list, so that a registry of variants can supply it.
 */
import type { MapGraph } from '../ssim/maps.js';
import { BUILT_IN_VARIANTS } from '../variants/registry.js';

/** Storage types a family's kernels are written for (Float64Array, Float32Array). */
export type StorageSuffix = 'F64' | 'F32';

export interface KernelFamily {
  /** Names the file (<name>.ts), the kernels (<name>ValueF64K11, <name>GradF64, ...) and the table (<name>Kernels). */
  readonly name: string;
  /** The pointwise map and its partials (built when the generator asks: the symbolic work is not free). */
  readonly map: () => MapGraph;
  /**
   * Scalar parameters of the map (variables of its graph) read from the kernel parameters at run
   * time, with their defaults; each must be a field of KernelParams (src/emit/params.ts).
   */
  readonly params: Readonly<Record<string, number>>;
  /** One line on what the map is (the file's header). */
  readonly what: string;
  /** More for the header: how the map is called, its conventions. */
  readonly note: string;
  /**
   * Storage types, each a kernel. With one, the table's entries are `value` and `grad`; with several,
   * `valueF64`, `gradF32`, ...
   */
  readonly storages: readonly StorageSuffix[];
  /** Window sizes with the taps unrolled (the table's k<size> entries; `generic` loops for any size). */
  readonly unrolled: readonly number[];
  /** Whether to add the value-and-gradient kernel in emulated float32 arithmetic (the table's gradF32Arith). */
  readonly f32Arith: boolean;
}

/**
 * The families, in the order the built-in variants declare them (src/variants: plain SSIM's, then
 * MS-SSIM's cs, then Wang's form): a plain list, read from the registry.
 */
export const KERNEL_FAMILIES: readonly KernelFamily[] = BUILT_IN_VARIANTS.flatMap((v) => v.kernels ?? []);
