/**
 * A PNG of |candidate - exact| that a person reads at a glance (the pixels: heatmap-image.ts, which
 * the browser page draws too), written atomically.
 */
import { PNG } from 'pngjs';
import { InputError, type Shape4 } from '../field/index.js';
import { writeAtomic } from '../io/index.js';
import { heatmapImage, type HeatmapInfo } from './heatmap-image.js';

export { inferno, type HeatmapInfo } from './heatmap-image.js';

/** Renders |a - b| over an NCHW shape into PNG bytes. */
export function renderHeatmap(a: ArrayLike<number>, b: ArrayLike<number>, shape: Shape4, band: number): { png: Buffer; info: HeatmapInfo } {
  const { rgba, info } = heatmapImage(a, b, shape, band);
  const png = new PNG({ width: info.width, height: info.height });
  png.data.set(rgba);
  return { png: PNG.sync.write(png), info };
}

/** Writes the heatmap atomically; `path` must end in .png. */
export function writeHeatmap(path: string, a: ArrayLike<number>, b: ArrayLike<number>, shape: Shape4, band: number): HeatmapInfo {
  if (!path.toLowerCase().endsWith('.png')) throw new InputError(`--heatmap: got '${path}', expected a file name ending in .png`);
  const { png, info } = renderHeatmap(a, b, shape, band);
  writeAtomic(path, png);
  return info;
}
