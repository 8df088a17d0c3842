/** Small configurations the checker's tests run on: every boundary rule, a crop, sample covariance, 'valid', 'sum'. */
import type { Tensor } from '../../src/field/index.js';
import type { SsimOptions } from '../../src/runtime/index.js';
import { loadPeer, peerCase } from '../support/fixtures.js';

export interface CheckConfig {
  readonly name: string;
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: SsimOptions;
  readonly wrt: 'x' | 'y';
}

const peer = (name: string) => {
  const c = peerCase(name);
  return { x: loadPeer(c.x), y: loadPeer(c.y), options: c.options };
};

const torch = peer('pytorch-ssim-L1');
const skimage = peer('skimage-rgb-box');
const valid = peer('valid-gaussian-L255');

export const CHECK_CONFIGS: readonly CheckConfig[] = [
  { name: 'pytorch-ssim (zero padding), d/dx', ...torch, wrt: 'x' },
  { name: 'pytorch-ssim (zero padding), d/dy', ...torch, wrt: 'y' },
  { name: 'mirror padding', ...torch, options: { padding: 'mirror' }, wrt: 'x' },
  { name: 'replicate padding, reduction sum', ...torch, options: { padding: 'replicate', reduction: 'sum' }, wrt: 'x' },
  { name: 'skimage (reflect, sample covariance, crop 3)', ...skimage, wrt: 'x' },
  { name: "pytorch-msssim ('valid', L 255)", ...valid, wrt: 'x' },
];
