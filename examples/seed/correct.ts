/**
 * A correct hand-written gradient of the same loss as gradient.ts (pytorch-ssim: Gaussian 11,
 * sigma 1.5, zero padding, mean of the SSIM map), for contrast:
 *
 *   npx ssim-grad check examples/seed/correct.ts examples/pair/x.png examples/pair/y.png
 *
 * The difference from the seed is one step: the partials of the SSIM map with respect to the
 * window statistics are maps over the image, and the chain rule back to pixel p gathers them
 * from every window that reads p. That is the window's transpose, W^T: for zero padding, a
 * correlation with the flipped window, zero padded. Then
 *
 *   d ssim/dx = W^T g_mu + 2x . W^T g_xx + y . W^T g_xy,
 *   g_mu = dS/dmu_x, g_xx = dS/dm_xx, g_xy = dS/dm_xy (raw moments m_xx = W(x x), m_xy = W(x y)), each / count.
 */

interface Tensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const SIZE = 11;
const SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function window2d(): Float64Array {
  const g = Array.from({ length: SIZE }, (_, i) => Math.exp(-((i - (SIZE - 1) / 2) ** 2) / (2 * SIGMA * SIGMA)));
  const s = g.reduce((a, b) => a + b, 0);
  return Float64Array.from({ length: SIZE * SIZE }, (_, k) => (g[Math.floor(k / SIZE)]! / s) * (g[k % SIZE]! / s));
}

/** Zero-padded correlation of every plane with w (w flipped when `flipped`). */
function correlate(img: Float64Array, w: Float64Array, planes: number, H: number, W: number, flipped: boolean): Float64Array {
  const out = new Float64Array(img.length);
  const r = (SIZE - 1) / 2;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let u = 0; u < SIZE; u++) {
          const ii = i + u - r;
          if (ii < 0 || ii >= H) continue;
          for (let v = 0; v < SIZE; v++) {
            const jj = j + v - r;
            if (jj < 0 || jj >= W) continue;
            const tap = flipped ? w[(SIZE - 1 - u) * SIZE + (SIZE - 1 - v)]! : w[u * SIZE + v]!;
            s += tap * img[(p * H + ii) * W + jj]!;
          }
        }
        out[(p * H + i) * W + j] = s;
      }
    }
  }
  return out;
}

export function gradient(x: Tensor, y: Tensor): Tensor {
  const [H, W] = x.shape.slice(-2) as [number, number];
  const planes = x.data.length / (H * W);
  const n = x.data.length;
  const X = Float64Array.from(x.data);
  const Y = Float64Array.from(y.data);
  const w = window2d();
  const Wf = (a: Float64Array): Float64Array => correlate(a, w, planes, H, W, false);
  const WT = (a: Float64Array): Float64Array => correlate(a, w, planes, H, W, true);
  const mu_x = Wf(X);
  const mu_y = Wf(Y);
  const m_xx = Wf(X.map((v) => v * v));
  const m_yy = Wf(Y.map((v) => v * v));
  const m_xy = Wf(X.map((v, i) => v * Y[i]!));
  const g_mu = new Float64Array(n);
  const g_xx = new Float64Array(n);
  const g_xy = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const mx = mu_x[p]!;
    const my = mu_y[p]!;
    const A1 = 2 * mx * my + C1;
    const B1 = mx * mx + my * my + C1;
    const A2 = 2 * (m_xy[p]! - mx * my) + C2;
    const B2 = m_xx[p]! - mx * mx + m_yy[p]! - my * my + C2;
    const S = (A1 * A2) / (B1 * B2);
    // dS/dA2 = S/A2, dS/dB2 = -S/B2; dA2/dmu_x = -2 mu_y, dB2/dmu_x = -2 mu_x; dA1/dmu_x = 2 mu_y, dB1/dmu_x = 2 mu_x
    g_mu[p] = (S * (2 * my / A1 - 2 * mx / B1 - 2 * my / A2 + 2 * mx / B2)) / n;
    g_xx[p] = -S / B2 / n;
    g_xy[p] = (2 * S) / A2 / n;
  }
  const tm = WT(g_mu);
  const txx = WT(g_xx);
  const txy = WT(g_xy);
  return { shape: [...x.shape], data: tm.map((v, p) => v + 2 * X[p]! * txx[p]! + Y[p]! * txy[p]!) };
}
