/**
 * The window's 1-D index tables for a configuration, the ones `windowMean` builds (src/field, windowAxis): the tracer
 * reads them to name the input pixel each tap reads (which taps, and whether through the boundary).
 */
import { windowAxis, type AxisOp, type Shape4 } from '../field/index.js';
import type { SsimConfig } from '../runtime/index.js';

/** The row (H) and column (W) axes of the windowed mean over a plane of the work shape. */
export interface WindowAxes {
  readonly rows: AxisOp;
  readonly cols: AxisOp;
}

/** The axes of W for images of the (work) shape. */
export function windowAxes(config: SsimConfig, workShape: Shape4): WindowAxes {
  const axis = (n: number): AxisOp => windowAxis(n, config.taps, config.padding, config.skipShortAxes);
  return { rows: axis(workShape[2]), cols: axis(workShape[3]) };
}

/**
 * The weight with which output (map) index `i` of an axis reads input index `p`: the sum of
 * the taps whose boundary-mapped index is p (more than one tap can land on p under reflect,
 * mirror and replicate), with the taps that read it.
 */
export function axisWeight(op: AxisOp, i: number, p: number): { weight: number; taps: number[] } {
  const k = op.taps.length;
  let weight = 0;
  const taps: number[] = [];
  for (let t = 0; t < k; t++) {
    if (op.index[i * k + t] === p) {
      weight += op.taps[t]!;
      taps.push(t);
    }
  }
  return { weight, taps };
}
