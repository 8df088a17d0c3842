/**
 * The general form of Wang et al. 2004: the mean over the region of l^alpha c^beta s^gamma
 * (C3 = C2/2; with alpha = beta = gamma = 1 it is S exactly). Its map and the zero-variance rule
 * of d sigma / d var are in src/ssim/maps.ts (wangMap); its generated kernels take the exponents
 * as parameters.
 */
import { wangMap } from '../ssim/maps.js';
import { defineVariant } from './define.js';
import type { OptionDeclaration } from './types.js';

const exponent = (term: string): OptionDeclaration => ({
  kind: 'number',
  default: 1,
  help: `wang: exponent of the ${term}`,
  check: (v) => (typeof v === 'number' && v >= 0 && v <= 16 ? undefined : 'expected a number in [0, 16]'),
});

export default defineVariant({
  name: 'wang',
  summary: "Wang et al.'s general form: mean of l^alpha c^beta s^gamma",
  options: { alpha: exponent('luminance term l'), beta: exponent('contrast term c'), gamma: exponent('structure term s (C3 = C2/2)') },
  downsamples: false,
  loss: ({ x, y, values, g }) => {
    const [alpha, beta, gamma] = [values.alpha as number, values.beta as number, values.gamma as number];
    return g.windowed(x, y, { graph: wangMap(alpha, beta, gamma), kernels: 'wang', kernelParams: { alpha, beta, gamma } }, 'loss');
  },
  tiles: true,
  scaleNote: 'the exact gradient is d value/dx of the mean of l^alpha c^beta s^gamma',
});
