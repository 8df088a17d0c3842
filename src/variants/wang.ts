/**
 * The general form of Wang et al. 2004: the mean over the region of l^alpha c^beta s^gamma
 * (C3 = C2/2; with alpha = beta = gamma = 1 it is S exactly). Its map, with the zero-variance rule
 * of d sigma / d var, is here; its generated kernels take the exponents as parameters.
 */
import { add, div, grad, max, mul, num, ONE, pow, powv, relu, step, substitute, variable, vjp, type Node } from '../expr/index.js';
import type { MapGraph } from '../model/maps.js';
import { pointwiseSsim } from '../model/pointwise.js';
import { defineVariant } from './define.js';
import type { OptionDeclaration } from './types.js';

/**
 * The general form of Wang et al. 2004, l^alpha c^beta s^gamma with C3 = C2/2:
 *   l = A1/B1,  c = (2 sigma_x sigma_y + C2) / (sigma_x^2 + sigma_y^2 + C2),  s = (sigma_xy + C3) / (sigma_x sigma_y + C3),
 * sigma = sqrt(max(var, 0)). With alpha = beta = gamma = 1 it is S exactly. The square root's
 * derivative 1/(2 sigma) is infinite where a variance is zero; there the gradient takes
 * d sigma / d var = 0 (the terms through sigma drop out; the others stay), so no NaN or
 * infinity reaches the gradient. Non-integer exponents need l, c, s > 0 (c always is; s is not
 * when the covariance is below -C3, where s^gamma has no real value and the result is NaN).
 */
/**
 * d sigma / d var = H(var) / (2 sqrt(max(var, 1e-30))): 1/(2 sigma) for var > 1e-30, 0 where var <= 0.
 * The guard is a normal float32 number, so the float32-arithmetic floor (every constant rounded to
 * float32) follows the same rule: 1e-300 rounded to 0 there, and H(0) / sqrt(0) = 0 x infinity was NaN.
 */
export const dSigmaDVar = (v: Node): Node => mul(step(v), 0.5, pow(max(v, num(1e-30)), -0.5));

export function wangMap(alpha: number | Node, beta: number | Node, gamma: number | Node): MapGraph {
  const p = pointwiseSsim();
  const named = new Map(p.named);
  const { mu_x, mu_y, m_xx, m_yy, m_xy, C2 } = p.inputs;
  const [varX, varY, cov, A1, B1] = ['var_x', 'var_y', 'cov', 'A1', 'B1'].map((n) => named.get(n)!) as [Node, Node, Node, Node, Node];
  // sigma_x, sigma_y as free variables first, so that their derivative can be given its zero-variance rule
  const sx = variable('sigma_x');
  const sy = variable('sigma_y');
  const C3 = mul(C2, 0.5);
  const l = div(A1, B1);
  const c = div(add(mul(2, sx, sy), C2), add(varX, varY, C2));
  const s = div(add(cov, C3), add(mul(sx, sy), C3));
  // numbers become exact rational powers; expressions (the kernels' runtime parameters) powv
  const power = (b: Node, e: number | Node): Node => (typeof e === 'number' ? pow(b, e) : powv(b, e));
  const F = mul(power(l, alpha), power(c, beta), power(s, gamma));
  // One reverse sweep of the scalar graph over F, with the square roots' local derivative given:
  // sigma_x, sigma_y are leaves of F whose adjoints d F/d sigma are handed on to the variances
  // times the zero-variance rule d sigma / d var (vjp seeds var_x, var_y with them).
  const [fsx, fsy] = grad(F, [sx, sy]);
  const moments = [mu_x, m_xx, m_xy, mu_y, m_yy];
  const [dmx, dxx, dxy, dmy, dyy] = vjp([F, varX, varY], [ONE, mul(fsx!, dSigmaDVar(varX)), mul(fsy!, dSigmaDVar(varY))], moments) as [Node, Node, Node, Node, Node];
  const dX = { mu: dmx, sq: dxx, cross: dxy };
  const dY = { mu: dmy, sq: dyy, cross: dxy };
  const sigmas = new Map([
    ['sigma_x', pow(relu(varX), 0.5)],
    ['sigma_y', pow(relu(varY), 0.5)],
  ]);
  const [F1, a, b, cc, d, e] = substitute([F, dX.mu, dX.sq, dX.cross, dY.mu, dY.sq], sigmas) as [Node, Node, Node, Node, Node, Node];
  return { name: 'wang', F: F1, dX: { mu: a, sq: b, cross: cc }, dY: { mu: d, sq: e, cross: cc } };
}

/** Wang's form with the exponents as variables alpha, beta, gamma (what its generated kernels take as parameters). */
export function wangMapParametric(): MapGraph {
  return wangMap(variable('alpha'), variable('beta'), variable('gamma'));
}


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

/** Wang's form's options, as the library's types spell them. */
export interface WangOptions {
  /** The exponents of luminance, contrast and structure (1 each by default). */
  alpha?: number;
  beta?: number;
  gamma?: number;
}

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
  kernels: [
    {
      name: 'wang',
      map: wangMapParametric,
      params: { alpha: 1, beta: 1, gamma: 1 },
      what: "Wang et al.'s general form l^alpha c^beta s^gamma (alpha, beta, gamma parameters)",
      note: 'Where a variance is zero, d sigma / d var is taken as 0 (see src/variants/wang.ts, wangMap).',
      storages: ['F64'],
      unrolled: [11],
      f32Arith: true,
    },
  ],
});
