/**
 * The kernel families `npm run generate` writes: one file src/generated/<name>.ts each, and one
 * table <name>Kernels in src/generated/index.ts. Each is a pointwise map of the window moments
 * (src/ssim/maps.ts) on the one schedule of src/emit/kernels.ts; the boundary rule is a runtime
 * parameter of every kernel. A plain list, so that a registry of variants can supply it.
 */
import { csMap, ssimMap, wangMapParametric, type MapGraph } from '../ssim/maps.js';

/** Storage types a family's kernels are written for (Float64Array, Float32Array). */
export type StorageSuffix = 'F64' | 'F32';

export interface KernelFamily {
  /** Names the file (<name>.ts), the kernels (<name>ValueF64K11, <name>GradF64, ...) and the table (<name>Kernels). */
  readonly name: string;
  /** The pointwise map and its partials. */
  readonly map: MapGraph;
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

export const KERNEL_FAMILIES: readonly KernelFamily[] = [
  {
    name: 'ssim',
    map: ssimMap(),
    params: {},
    what: 'SSIM kernels',
    note: [
      "Temporaries keep the derivation's names: mu_x, var_x, cov, A1, B1, A2, B2, S; g_* are omega dS/d(moment).",
      'Equation numbers refer to derivations/ssim-<preset>.md (ssim-matlab.md numbers one higher: it opens with',
      'the downsampling, which runs before these kernels).',
    ].join('\n'),
    storages: ['F64', 'F32'],
    unrolled: [7, 11],
    f32Arith: true,
  },
  {
    name: 'cs',
    map: csMap(),
    params: {},
    what: "MS-SSIM's contrast-structure map cs = A2 / B2",
    note: 'MS-SSIM calls them with planeOmega (its product rule weighs each image and channel differently)\nand reads planeSums, the per-plane sums of cs.',
    storages: ['F64'],
    unrolled: [11],
    f32Arith: false,
  },
  {
    name: 'wang',
    map: wangMapParametric(),
    params: { alpha: 1, beta: 1, gamma: 1 },
    what: "Wang et al.'s general form l^alpha c^beta s^gamma (alpha, beta, gamma parameters)",
    note: 'Where a variance is zero, d sigma / d var is taken as 0 (see src/ssim/maps.ts, wangMap).',
    storages: ['F64'],
    unrolled: [11],
    f32Arith: false,
  },
];
