/**
 * Pointwise maps of the window moments beyond S itself (the contrast-structure term cs = A2/B2
 * that MS-SSIM multiplies across scales), as scalar graphs with their partials; and, for any such
 * map F, the per-plane means of F over the region with the exact gradient of a weighted sum of
 * them, which the field graph's reverse mode gives (src/graph/evaluate.ts).
 */
import { add, div, grad, max, mul, num, pow, powv, relu, step, substitute, variable, type Node } from '../expr/index.js';
import type { Shape4 } from '../field/index.js';
import { binary, input, reduce } from '../graph/build.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { windowedMap } from '../graph/ssim.js';
import { emitPointwise, type Arithmetic } from '../emit/pointwise.js';
import type { SsimConfig } from './options.js';
import { pointwiseSsim } from './pointwise.js';

/** A pointwise map F(mu_x, mu_y, m_xx, m_yy, m_xy; C1, C2, c_n) and its partials. */
export interface MapGraph {
  readonly name: string;
  readonly F: Node;
  readonly dX: { readonly mu: Node; readonly sq: Node; readonly cross: Node };
  readonly dY: { readonly mu: Node; readonly sq: Node; readonly cross: Node };
}

/** S itself. */
export function ssimMap(): MapGraph {
  const p = pointwiseSsim();
  return { name: 'S', F: p.S, dX: p.partialsX, dY: p.partialsY };
}

/** The contrast-structure term cs = A2 / B2 (MS-SSIM's factor at every scale but the last). */
export function csMap(): MapGraph {
  const p = pointwiseSsim();
  const named = new Map(p.named);
  const cs = div(named.get('A2')!, named.get('B2')!);
  const { mu_x, mu_y, m_xx, m_yy, m_xy } = p.inputs;
  const [gmx, gxx, gxy, gmy, gyy] = grad(cs, [mu_x, m_xx, m_xy, mu_y, m_yy]);
  return { name: 'cs', F: cs, dX: { mu: gmx!, sq: gxx!, cross: gxy! }, dY: { mu: gmy!, sq: gyy!, cross: gxy! } };
}

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
  const { mu_x, mu_y, m_xx, m_yy, m_xy, C2, c_n } = p.inputs;
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
  const [fmx, fxx, fxy, fmy, fyy, fsx, fsy] = grad(F, [mu_x, m_xx, m_xy, mu_y, m_yy, sx, sy]);
  // d sigma / d var = H(var) / (2 sqrt(max(var, 1e-30))): 1/(2 sigma) for var > 1e-30, 0 where var <= 0
  const half = dSigmaDVar;
  const hx = half(varX);
  const hy = half(varY);
  const dX = {
    mu: add(fmx!, mul(fsx!, hx, -2, c_n, mu_x)),
    sq: add(fxx!, mul(fsx!, hx, c_n)),
    cross: fxy!,
  };
  const dY = { mu: add(fmy!, mul(fsy!, hy, -2, c_n, mu_y)), sq: add(fyy!, mul(fsy!, hy, c_n)), cross: fxy! };
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

/** The inputs of a compiled map, in the order `compilePointwise`'s function takes them. */
export const MAP_INPUTS = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy', 'C1', 'C2', 'c_n'] as const;

export type CompiledMap = (inputs: Float64Array[], outputs: Float64Array[], n: number) => void;
const compiled = new Map<string, CompiledMap>();

/**
 * Outputs of a map (functions of MAP_INPUTS) compiled to one loop over the pixels: the emitter's
 * straight-line code inside `new Function`, far faster than evaluating the graph node by node;
 * float64, or float32 emulated (Math.fround after every operation). Cached per outputs and arithmetic.
 */
export function compilePointwise(nodes: readonly Node[], arith: Arithmetic = 'f64'): CompiledMap {
  const key = `${arith}:${nodes.map((n) => n.id).join(',')}`;
  const hit = compiled.get(key);
  if (hit !== undefined) return hit;
  const code = emitPointwise(nodes.map((n, i) => [`out_${i}`, n] as const), new Map(), arith);
  const body = [
    `const [${MAP_INPUTS.map((v) => `${v}_`).join(', ')}] = inputs;`,
    `const [${nodes.map((_, i) => `o_${i}`).join(', ')}] = outputs;`,
    'for (let p = 0; p < n; p++) {',
    ...MAP_INPUTS.map((v) => `  const ${v} = ${v}_[p];`),
    ...code.lines.map((l) => `  ${l}`),
    ...nodes.map((_, i) => `  o_${i}[p] = out_${i};`),
    '}',
  ].join('\n');
  // the code is generated from our own graph (no user input reaches it)
  const f = new Function('inputs', 'outputs', 'n', body) as CompiledMap;
  compiled.set(key, f);
  return f;
}

/**
 * Per-plane means of F over the region (shape N x C), and, when `planeWeights` is given, the
 * gradient of sum_p planeWeights[p] * means[p] with respect to x and y (each of `shape`): F's
 * block in the field graph (src/graph/ssim.ts), weighted and summed, by the one reverse mode.
 */
export function planeMeans(
  x: Float64Array,
  y: Float64Array,
  shape: Shape4,
  config: SsimConfig,
  map: MapGraph,
  planeWeights: Float64Array | null,
): { means: Float64Array; gradX: Float64Array | null; gradY: Float64Array | null } {
  const [N, C] = shape;
  const planes = windowedMap(input('x', shape), input('y', shape), config, {}, { graph: map, kernels: null }, 'planes');
  const weighted = reduce('sum', binary(mul, planes, input('w', [N, C, 1, 1])));
  const w = planeWeights ?? new Float64Array(N * C);
  const r = evaluateGraph(weighted, { x, y, w }, { fused: false, record: true, ...(planeWeights === null ? {} : { wrt: ['x', 'y'] }) });
  const means = r.values.get(planes.expanded.id)!;
  return { means, gradX: planeWeights === null ? null : r.grads.x!, gradY: planeWeights === null ? null : r.grads.y! };
}
