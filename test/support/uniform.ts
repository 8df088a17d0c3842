import fc from 'fast-check';

/**
 * A double uniform on [min, max]. fc.double is uniform over the bit patterns of doubles, which
 * puts most draws within a hair of zero; gradients and statistics want ordinary magnitudes.
 */
export const uniform = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: 2 ** 30 }).map((i) => min + ((max - min) * i) / 2 ** 30);
