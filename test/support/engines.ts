/** A variant on its kernels (the graph's blocks fused) and on its fine graph (every node evaluated), for tests that compare the two. */
import type { Tensor } from '../../src/field/index.js';
import type { VariantOptions } from '../../src/runtime/variants.js';
import { variantGraph } from '../../src/variants/evaluate.js';
import { runVariant } from '../../src/runtime/variants.js';

export interface EngineResult {
  readonly value: number;
  readonly gradX: Float64Array;
  readonly gradY: Float64Array;
}

/** [kernels, fine graph]: value and both gradients each way. */
export function onEngines(x: Tensor, y: Tensor, options: VariantOptions): [EngineResult, EngineResult] {
  const g = variantGraph(x, y, options);
  const run = (fused: boolean): EngineResult => {
    const r = runVariant(g, { wrt: ['x', 'y'], fused });
    return { value: r.value[0]!, gradX: r.grads.x!, gradY: r.grads.y! };
  };
  return [run(true), run(false)];
}
