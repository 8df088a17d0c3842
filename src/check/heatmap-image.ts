/**
 * The heatmap of |candidate - exact| as pixels: one tile per channel (columns) and image (rows), one
 * linear colour scale for all tiles (so channels compare), a dotted line where the border band ends,
 * and a colour bar underneath from 0 to the largest error. No Node imports: `check --heatmap`
 * (heatmap.ts) writes it as a PNG, the browser page draws it on a canvas.
 */
import type { Shape4 } from '../field/index.js';

/** Control points of matplotlib's 'inferno' (perceptually uniform, dark = small). */
const INFERNO: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164],
];

/** The colour of t in [0, 1]. */
export function inferno(t: number): [number, number, number] {
  const s = Math.min(Math.max(t, 0), 1) * (INFERNO.length - 1);
  const i = Math.min(Math.floor(s), INFERNO.length - 2);
  const f = s - i;
  const a = INFERNO[i]!;
  const b = INFERNO[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as [number, number, number];
}

/** What the heatmap shows, for the report. */
export interface HeatmapInfo {
  readonly width: number;
  readonly height: number;
  /** The |difference| at the top of the colour scale. */
  readonly max: number;
  /** Each input pixel is drawn as scale x scale. */
  readonly scale: number;
}

const GAP = 4;
const BAR = 12;

/** |a - b| over an NCHW shape as RGBA pixels (width x height x 4, row-major). */
export function heatmapImage(a: ArrayLike<number>, b: ArrayLike<number>, shape: Shape4, band: number): { rgba: Uint8Array; info: HeatmapInfo } {
  const [N, C, H, W] = shape;
  const scale = Math.max(1, Math.min(8, Math.ceil(128 / Math.min(H, W))));
  const width = C * W * scale + (C + 1) * GAP;
  const height = N * H * scale + (N + 1) * GAP + BAR + GAP;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  const data = new Uint8Array(4 * width * height);
  const put = (px: number, py: number, [r, g, bl]: readonly number[]): void => {
    const o = 4 * (py * width + px);
    data[o] = r!;
    data[o + 1] = g!;
    data[o + 2] = bl!;
    data[o + 3] = 255;
  };
  for (let py = 0; py < height; py++) for (let px = 0; px < width; px++) put(px, py, [48, 48, 48]);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const x0 = GAP + c * (W * scale + GAP);
      const y0 = GAP + n * (H * scale + GAP);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const p = ((n * C + c) * H + i) * W + j;
          const colour = inferno(max > 0 ? Math.abs(a[p]! - b[p]!) / max : 0);
          for (let u = 0; u < scale; u++) for (let v = 0; v < scale; v++) put(x0 + j * scale + v, y0 + i * scale + u, colour);
        }
      }
      // the border band's inner edge, dotted, where it leaves an interior
      if (band > 0 && 2 * band < H && 2 * band < W) {
        const top = y0 + band * scale;
        const bottom = y0 + (H - band) * scale - 1;
        const left = x0 + band * scale;
        const right = x0 + (W - band) * scale - 1;
        for (let px = left; px <= right; px++) if ((px - left) % 4 < 2) [top, bottom].forEach((py) => put(px, py, [140, 200, 255]));
        for (let py = top; py <= bottom; py++) if ((py - top) % 4 < 2) [left, right].forEach((px) => put(px, py, [140, 200, 255]));
      }
    }
  }
  const barTop = height - BAR - GAP;
  for (let px = GAP; px < width - GAP; px++) {
    const colour = inferno((px - GAP) / Math.max(1, width - 2 * GAP - 1));
    for (let py = barTop; py < barTop + BAR; py++) put(px, py, colour);
  }
  return { rgba: data, info: { width, height, max, scale } };
}

