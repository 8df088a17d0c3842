/**
 * The general form of Wang et al. 2004: the mean over the region of l^alpha c^beta s^gamma
 * (C3 = C2/2; with alpha = beta = gamma = 1 it is S exactly). Its map and the zero-variance rule
 * of d sigma / d var are in src/ssim/maps.ts (wangMap); its generated kernels take the exponents
 * as parameters.
 */
import { wangMap } from '../ssim/maps.js';
import { defineVariant } from './define.js';
import type { OptionDeclaration } from './types.js';

/** Wang's map for given exponents, built once per exponents (the symbolic work is not free). */
const maps = new Map<string, ReturnType<typeof wangMap>>();
const mapFor = (alpha: number, beta: number, gamma: number): ReturnType<typeof wangMap> => {
  const key = `${alpha},${beta},${gamma}`;
  let m = maps.get(key);
  if (m === undefined) maps.set(key, (m = wangMap(alpha, beta, gamma)));
  return m;
};

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
  doc: [
    { document: 'wang', title: "Wang et al.'s general form l^alpha c^beta s^gamma and its gradient", summary: 'the general form of Wang et al. 2004' },
    {
      p: 'Wang et al. 2004 (their equation 12) write SSIM as three factors with exponents, $l^\\alpha c^\\beta s^\\gamma$ with $C_3 = C_2 / 2$ and $\\sigma = \\sqrt{\\max(\\sigma^2, 0)}$ (`--alpha --beta --gamma`, 1 by default, when it is SSIM exactly). The moments and statistics are those of [the SSIM derivation](ssim-pytorch-ssim.md).',
    },
    {
      p: "The square root's derivative, $1/(2\\sigma)$, is infinite where a variance is zero; there the gradient takes $\\partial\\sigma/\\partial\\sigma^2 = 0$, written $H(\\sigma^2) / (2 \\sqrt{\\max(\\sigma^2, 10^{-30})})$ in the partials below, so the terms through $\\sigma$ drop out and no NaN or infinity reaches the gradient. The guard $10^{-30}$ is a normal float32 number, so that the float32-arithmetic rounding floor follows the same rule.",
    },
  ],
  loss: ({ x, y, values, g }) => {
    const [alpha, beta, gamma] = [values.alpha as number, values.beta as number, values.gamma as number];
    return g.windowed(x, y, { graph: mapFor(alpha, beta, gamma), kernels: 'wang', kernelParams: { alpha, beta, gamma } }, 'loss');
  },
  tiles: true,
  scaleNote: 'the exact gradient is d value/dx of the mean of l^alpha c^beta s^gamma',
});
