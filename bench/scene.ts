/** The benchmarks' input: a deterministic smooth scene with noise and a distorted copy. */

/** A linear congruential generator in [0, 1), seeded: the same numbers on every machine. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A smooth scene with noise in [0, 1] and a noisy copy clamped to [0, 1], as float32 C x H x W. */
export function scenePair(C: number, H: number, W: number, rand: () => number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(C * H * W);
  const y = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const p = (c * H + i) * W + j;
        const v = 0.5 + 0.25 * Math.sin(i / 17 + c) * Math.cos(j / 23) + 0.2 * rand();
        x[p] = v;
        y[p] = Math.min(1, Math.max(0, v + 0.1 * (rand() - 0.5)));
      }
  return { x, y };
}
