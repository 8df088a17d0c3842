/** Dot-product tests: <A a, b> = <a, A^T b> for every field operator, random shapes and kernels. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyAxis, avgPool2x2, axisOp, boundaryIndex, BOUNDARIES, boxDownsample, type Boundary, compose, crop, dot, mean, sizeOf, windowMean, type LinearOp, type Shape4,
} from '../../src/field/index.js';
import { uniform } from '../support/uniform.js';

const vector = (n: number): fc.Arbitrary<Float64Array> => fc.array(uniform(-1, 1), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));

const norm = (v: Float64Array): number => Math.sqrt(dot(v, v));

/** Checks the adjoint identity on random a, b to 1e-12 relative to |A a| |b|. */
function adjointHolds(op: LinearOp): fc.Arbitrary<boolean> {
  return fc.tuple(vector(sizeOf(op.inShape)), vector(sizeOf(op.outShape))).map(([a, b]) => {
    const Aa = op.apply(a);
    const Atb = op.transpose(b);
    expect(Aa.length).toBe(sizeOf(op.outShape));
    expect(Atb.length).toBe(sizeOf(op.inShape));
    const lhs = dot(Aa, b);
    const rhs = dot(a, Atb);
    const scale = Math.max(norm(Aa) * norm(b), norm(a) * norm(Atb), 1e-300);
    if (Math.abs(lhs - rhs) > 1e-12 * scale) throw new Error(`${op.name} on [${op.inShape}]: <Aa,b> = ${lhs}, <a,A^T b> = ${rhs}`);
    return true;
  });
}

/** Shapes with sizes near the window size, not square. */
const shapes = (minSide: number): fc.Arbitrary<Shape4> =>
  fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: minSide, max: 17 }), fc.integer({ min: minSide, max: 17 }));

/** Random positive taps of odd length, normalised (the operator does not need symmetry). */
const taps = fc
  .integer({ min: 0, max: 5 })
  .chain((r) => fc.array(uniform(0.01, 1), { minLength: 2 * r + 1, maxLength: 2 * r + 1 }))
  .map((t) => {
    const s = t.reduce((a, b) => a + b, 0);
    return Float64Array.from(t, (v) => v / s);
  });

const run = (arb: fc.Arbitrary<fc.Arbitrary<boolean>>): void =>
  fc.assert(fc.property(arb.chain((x) => x), (ok) => ok), { numRuns: 300 });

describe('transposes (dot-product tests)', () => {
  it.each(BOUNDARIES)('window mean under %s', (boundary) => {
    run(
      fc.tuple(shapes(1), taps, fc.boolean()).map(([shape, t, skip]) => {
        const fits = shape[2] >= t.length && shape[3] >= t.length;
        if (boundary === 'valid' && !fits && !skip) return fc.constant(true);
        return adjointHolds(windowMean(shape, t, boundary, { skipShortAxes: skip }));
      }),
    );
  });

  it('crop and its zero-padding transpose', () => {
    run(
      fc.tuple(shapes(6), fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([s, t, b, l, r]) => adjointHolds(crop(s, t, b, l, r))),
    );
  });

  it('mean', () => {
    run(shapes(1).map((s) => adjointHolds(mean(s))));
  });

  it.each(['zero', 'symmetric'] as const)('2 x 2 average pooling (%s)', (mode) => {
    run(shapes(2).map((s) => adjointHolds(avgPool2x2(s, mode))));
  });

  it('MATLAB box downsampling', () => {
    run(fc.tuple(shapes(1), fc.integer({ min: 1, max: 4 })).map(([s, f]) => adjointHolds(boxDownsample(s, f))));
  });

  it('compositions (window, then crop, then mean)', () => {
    run(
      fc.tuple(shapes(11), taps, fc.constantFrom(...BOUNDARIES)).map(([s, t, boundary]) => {
        const w = windowMean(s, t, boundary);
        return adjointHolds(compose(compose(w, crop(w.outShape, 0, 0, 0, 0)), mean(w.outShape)));
      }),
    );
  });
});

describe('boundary rules read the samples the peers read', () => {
  const signal = Float64Array.of(10, 20, 30, 40);
  // a 3-tap "shift" window: out[i] = in[b(i - 1)]
  const readAt = (boundary: Boundary): number[] =>
    Array.from(applyAxis(axisOp(4, { taps: [1, 0, 0], origin: 1, boundary }), signal, 1, 1, false));
  // the other shift, out[i] = in[b(i + 1)]: the right edge, where each rule reads what the left edge mirrors
  const readAhead = (boundary: Boundary): number[] =>
    Array.from(applyAxis(axisOp(4, { taps: [0, 0, 1], origin: 1, boundary }), signal, 1, 1, false));
  it('at the right edge: zero, half-sample symmetric, whole-sample mirror, replicate', () => {
    expect(readAhead('same')).toEqual([20, 30, 40, 0]);
    expect(readAhead('reflect')).toEqual([20, 30, 40, 40]); // a b c d | d c b a
    expect(readAhead('mirror')).toEqual([20, 30, 40, 30]); // a b c d | c b a
    expect(readAhead('replicate')).toEqual([20, 30, 40, 40]); // a b c d | d d d
    // two and three samples out (an 11-tap window at a 4-sample axis reads five past the end)
    const past = (k: number, rule: Boundary): number => boundaryIndex(3 + k, 4, rule);
    expect([1, 2, 3].map((k) => past(k, 'replicate'))).toEqual([3, 3, 3]);
    expect([1, 2, 3].map((k) => past(k, 'mirror'))).toEqual([2, 1, 0]);
    expect([1, 2, 3].map((k) => past(k, 'reflect'))).toEqual([3, 2, 1]);
    expect([1, 2, 3].map((k) => past(k, 'same'))).toEqual([-1, -1, -1]);
  });

  it('zero, half-sample symmetric, whole-sample mirror, replicate', () => {
    expect(readAt('same')).toEqual([0, 10, 20, 30]);
    expect(readAt('reflect')).toEqual([10, 10, 20, 30]); // scipy 'reflect': d c b a | a b c d
    expect(readAt('mirror')).toEqual([20, 10, 20, 30]); // torch 'reflect': c b | a b c d
    expect(readAt('replicate')).toEqual([10, 10, 20, 30]);
    expect(boundaryIndex(-6, 4, 'reflect')).toBe(2); // repeated reflection: period 2n
    expect(boundaryIndex(7, 4, 'mirror')).toBe(1); // period 2n - 2
  });

  it('pooling of an odd length: torch zero-pads in front, tf repeats the last sample', () => {
    const x = Float64Array.of(1, 2, 3, 4, 5, 6); // one plane of 2 x 3
    expect(Array.from(avgPool2x2([1, 1, 2, 3], 'zero').apply(x))).toEqual([(0 + 0 + 1 + 4) / 4, (2 + 3 + 5 + 6) / 4]);
    expect(Array.from(avgPool2x2([1, 1, 2, 3], 'symmetric').apply(x))).toEqual([(1 + 2 + 4 + 5) / 4, (3 + 3 + 6 + 6) / 4]);
  });

  it("MATLAB's 2 x 2 box downsampling averages pixels i and i+1 and keeps 1:2:end", () => {
    const x = Float64Array.of(1, 2, 3, 4, 5, 6); // 2 x 3
    expect(Array.from(boxDownsample([1, 1, 2, 3], 2).apply(x))).toEqual([(1 + 2 + 4 + 5) / 4, (3 + 3 + 6 + 6) / 4]);
  });
});
