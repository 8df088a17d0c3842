/**
 * Linear field operators with their transposes, one table: each operator knows how to apply
 * itself and its adjoint (JAX's transpose rules; tinygrad's pad <-> shrink). A dot-product
 * test proves every pair: <A a, b> = <a, A^T b>.
 */
import { applyAxis, axisOp, identityAxis, type AxisOp, type Boundary } from './axis.js';
import { rounding, type Precision } from './precision.js';
import { sizeOf, type Shape4 } from './tensor.js';

export interface LinearOp {
  /** What it is, for messages and derivation documents. */
  readonly name: string;
  readonly inShape: Shape4;
  readonly outShape: Shape4;
  /** A x, in float64 or float32 arithmetic (Math.fround after every operation). */
  apply(x: Float64Array, arith?: Precision): Float64Array;
  /** A^T y, in the same arithmetics. */
  transpose(y: Float64Array, arith?: Precision): Float64Array;
}

/** A separable operator on each N, C plane: `rows` along H, then `cols` along W. */
export function separable(name: string, inShape: Shape4, rows: AxisOp, cols: AxisOp): LinearOp {
  const [N, C, H, W] = inShape;
  if (rows.inLength !== H || cols.inLength !== W) throw new Error(`${name}: axis lengths do not match shape [${inShape}]`);
  const outShape: Shape4 = [N, C, rows.outLength, cols.outLength];
  return {
    name,
    inShape,
    outShape,
    apply: (x, a) => applyAxis(cols, applyAxis(rows, x, N * C, W, false, a), N * C * rows.outLength, 1, false, a),
    transpose: (y, a) => applyAxis(rows, applyAxis(cols, y, N * C * rows.outLength, 1, true, a), N * C, W, true, a),
  };
}

/** Centred taps of odd length k along an axis of length n under a boundary rule (the window's axis; the tracer reads its index table). */
export function windowAxis(n: number, taps: Float64Array, boundary: Boundary, skipShort: boolean): AxisOp {
  if (boundary === 'valid' && n < taps.length) {
    if (skipShort) return identityAxis(n); // pytorch-msssim: no smoothing along an axis shorter than the window
    throw new Error(`window: axis of length ${n} is shorter than the ${taps.length}-tap window under 'valid'`);
  }
  return axisOp(n, { taps, origin: boundary === 'valid' ? 0 : (taps.length - 1) / 2, boundary });
}

/**
 * The windowed mean W: correlation of each channel with the normalised separable kernel
 * taps (outer) taps, under a boundary rule ('valid' shrinks the output by k - 1).
 */
export function windowMean(inShape: Shape4, taps: Float64Array, boundary: Boundary, opts: { skipShortAxes?: boolean } = {}): LinearOp {
  if (taps.length % 2 !== 1) throw new Error(`window: ${taps.length} taps, expected an odd number`);
  const skip = opts.skipShortAxes ?? false;
  return separable(`window(${taps.length}, ${boundary})`, inShape, windowAxis(inShape[2], taps, boundary, skip), windowAxis(inShape[3], taps, boundary, skip));
}

/** Crops `top`, `bottom`, `left`, `right` pixels of every plane; its transpose zero-pads. */
export function crop(inShape: Shape4, top: number, bottom: number, left: number, right: number): LinearOp {
  const [N, C, H, W] = inShape;
  const h = H - top - bottom;
  const w = W - left - right;
  if (h < 1 || w < 1) throw new Error(`crop: cropping ${top},${bottom},${left},${right} leaves nothing of ${H} x ${W}`);
  const outShape: Shape4 = [N, C, h, w];
  return {
    name: `crop(${top}, ${bottom}, ${left}, ${right})`,
    inShape,
    outShape,
    apply: (x) => {
      const y = new Float64Array(sizeOf(outShape));
      for (let p = 0; p < N * C; p++) for (let i = 0; i < h; i++) y.set(x.subarray((p * H + i + top) * W + left, (p * H + i + top) * W + left + w), (p * h + i) * w);
      return y;
    },
    transpose: (y) => {
      const x = new Float64Array(sizeOf(inShape));
      for (let p = 0; p < N * C; p++) for (let i = 0; i < h; i++) x.set(y.subarray((p * h + i) * w, (p * h + i + 1) * w), (p * H + i + top) * W + left);
      return x;
    },
  };
}

/** The mean of every value, as a 1 x 1 x 1 x 1 field; its transpose spreads y / count. */
export function mean(inShape: Shape4): LinearOp {
  const n = sizeOf(inShape);
  return {
    name: 'mean',
    inShape,
    outShape: [1, 1, 1, 1],
    apply: (x, a) => {
      const r = rounding(a);
      let s = 0;
      for (let i = 0; i < n; i++) s = r(s + x[i]!);
      return Float64Array.of(r(s / n));
    },
    transpose: (y, a) => new Float64Array(n).fill(rounding(a)(y[0]! / n)),
  };
}

/**
 * 2 x 2 average pooling with stride 2. Odd sizes: 'zero' pads one zero row/column in front and
 * still divides by 4 (torch avg_pool2d with padding = size % 2, count_include_pad, as
 * pytorch-msssim calls it); 'symmetric' repeats the last row/column (tf.image.ssim_multiscale).
 */
export function avgPool2x2(inShape: Shape4, mode: 'zero' | 'symmetric'): LinearOp {
  const axis = (n: number): AxisOp => {
    const pad = n % 2;
    if (mode === 'zero') return axisOp(n, { taps: [0.5, 0.5], origin: pad, stride: 2, boundary: 'same', outLength: Math.floor((n + 2 * pad - 2) / 2) + 1 });
    return axisOp(n, { taps: [0.5, 0.5], origin: 0, stride: 2, boundary: 'reflect', outLength: (n + pad) / 2 });
  };
  return separable(`avgpool2x2(${mode})`, inShape, axis(inShape[2]), axis(inShape[3]));
}

/**
 * MATLAB's downsampling in Wang's ssim.m: an f x f box filter with 'symmetric' boundary,
 * origin at floor((f+1)/2) (1-based), then every f-th pixel from the first.
 */
export function boxDownsample(inShape: Shape4, f: number): LinearOp {
  const axis = (n: number): AxisOp =>
    axisOp(n, { taps: new Array<number>(f).fill(1 / f), origin: Math.floor((f + 1) / 2) - 1, stride: f, boundary: 'reflect', outLength: Math.ceil(n / f) });
  return separable(`boxdownsample(${f})`, inShape, axis(inShape[2]), axis(inShape[3]));
}

/** b after a. */
export function compose(a: LinearOp, b: LinearOp): LinearOp {
  return {
    name: `${b.name} . ${a.name}`,
    inShape: a.inShape,
    outShape: b.outShape,
    apply: (x, ar) => b.apply(a.apply(x, ar), ar),
    transpose: (y, ar) => a.transpose(b.transpose(y, ar), ar),
  };
}

/** The identity. */
export function identity(shape: Shape4): LinearOp {
  return { name: 'identity', inShape: shape, outShape: shape, apply: (x) => x.slice(), transpose: (y) => y.slice() };
}

/**
 * A linear map across channels at every pixel: out[n, o] = sum_c matrix[o][c] in[n, c] (an RGB to
 * luma conversion is the 1 x 3 matrix of its coefficients); its transpose applies matrix^T.
 */
export function channelMix(inShape: Shape4, matrix: readonly (readonly number[])[]): LinearOp {
  const [N, C, H, W] = inShape;
  const O = matrix.length;
  if (O < 1 || !matrix.every((row) => row.length === C && row.every((v) => Number.isFinite(v)))) {
    throw new Error(`channels: expected ${O || 'one or more'} rows of ${C} finite coefficients for ${C} channels`);
  }
  const hw = H * W;
  const outShape: Shape4 = [N, O, H, W];
  const run = (src: Float64Array, from: number, to: number, m: (o: number, c: number) => number, a?: Precision): Float64Array => {
    const r = rounding(a);
    const dst = new Float64Array(N * to * hw);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < to; o++) {
        const d = (n * to + o) * hw;
        for (let c = 0; c < from; c++) {
          const w = r(m(o, c));
          const s = (n * from + c) * hw;
          for (let q = 0; q < hw; q++) dst[d + q] = r(dst[d + q]! + r(w * src[s + q]!));
        }
      }
    }
    return dst;
  };
  return {
    name: `channels(${matrix.map((row) => `[${row.join(', ')}]`).join(', ')})`,
    inShape,
    outShape,
    apply: (x, a) => run(x, C, O, (o, c) => matrix[o]![c]!, a),
    transpose: (y, a) => run(y, O, C, (c, o) => matrix[o]![c]!, a),
  };
}
