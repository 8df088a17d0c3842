/**
 * `npm run bench -- jvp`: forward mode and second order of plain SSIM (pytorch-ssim) at 512 x 512 x 3,
 * float64, in this one process on the same inputs: the generated JVP and HVP kernels
 * (src/generated/derivatives.ts, what ssimJvp and ssimHvp run) beside the value and gradient kernels
 * they are priced against (the targets: a JVP at most 1.5x a value, an HVP at most 2.5x a
 * gradient), and the graph interpreter (src/graph/forward.ts, forwardTangents and hessianVector
 * over the field graph, what every other variant runs) on the same work. Each pair is timed
 * alternately after warming up (a loaded machine slows both alike); medians, the minimum beside
 * them; 11 rounds a pair, 3 beside the interpreter (about a second a call).
 */
import { cpus } from 'node:os';
import { forwardTangents, hessianVector } from '../src/graph/forward.js';
import { ssimFast, ssimGradFast } from '../src/runtime/fast.js';
import { ssimHvp, ssimJvp, variantJvp } from '../src/runtime/jvp.js';
import { variantGraph } from '../src/variants/evaluate.js';
import { fmtMs, machineLoad, measure, median, type Timing } from './measure.js';
import { lcg, scenePair } from './scene.js';

const loadBefore = machineLoad();
const rand = lcg(2024);
const [C, H, W] = [3, 512, 512];
const { x: x32, y: y32 } = scenePair(C, H, W, rand);
const shape = [1, C, H, W];
const n = C * H * W;
const X = { shape, data: Float64Array.from(x32) };
const Y = { shape, data: Float64Array.from(y32) };
const dir = (): { shape: number[]; data: Float64Array } => ({ shape, data: Float64Array.from({ length: n }, () => 2 * rand() - 1) });
const [DX, DY] = [dir(), dir()];
const opts = { preset: 'pytorch-ssim' } as const;

/**
 * Two calls timed alternately (a, b, a, b, ...) after warming both up (measure's rule, on each), so
 * that a machine shared with other work slows both alike and their ratio stays meaningful.
 */
async function paired(a: () => unknown, b: () => unknown, rounds: number): Promise<[Timing, Timing]> {
  const [wa, wb] = [await measure(a, { runs: 1 }), await measure(b, { runs: 1 })];
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [f, into] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      f();
      into.push(performance.now() - t0);
    }
  }
  const timing = (ts: number[], w: Timing): Timing => ({ min: Math.min(...ts), median: median(ts), runs: rounds, warmup: w.warmup, steady: w.steady });
  return [timing(ta, wa), timing(tb, wb)];
}

const value = (): unknown => ssimFast(X, Y, opts, 'float64');
const gradX = (): unknown => ssimGradFast(X, Y, opts, 'float64', 'x');
const gradBoth = (): unknown => ssimGradFast(X, Y, opts, 'float64', 'both');
const jvpK = (): unknown => variantJvp(X, Y, DX, DY, { ...opts, variant: 'ssim' });
const hvpXK = (): unknown => ssimHvp(X, Y, DX, { ...opts, wrt: 'x' });
const hvpBothK = (): unknown => ssimHvp(X, Y, { x: DX, y: DY }, { ...opts, wrt: 'both' });
const ROUNDS = 11;
const [jvp, value1] = await paired(jvpK, value, ROUNDS);
const [jvpMap, value2] = await paired(() => ssimJvp(X, Y, DX, DY, opts), value, ROUNDS);
const [jvpX, value3] = await paired(() => variantJvp(X, Y, DX, null, { ...opts, variant: 'ssim' }), value, ROUNDS);
const [hvpX, gradX1] = await paired(hvpXK, gradX, ROUNDS);
const [hvpBoth, gradBoth1] = await paired(hvpBothK, gradBoth, ROUNDS);

// the interpreter on the same graph and directions (what variantJvp / variantHvp run for any other variant)
const g = variantGraph(X, Y, { ...opts, variant: 'ssim' });
const [iJvp, jvp2] = await paired(() => forwardTangents(g.loss, g.inputs, { x: DX.data, y: DY.data }), jvpK, 3);
const [iHvpX, hvpX2] = await paired(() => hessianVector(g.loss, g.inputs, { x: DX.data }, { wrt: ['x'] }), hvpXK, 3);
const [iHvpBoth, hvpBoth2] = await paired(() => hessianVector(g.loss, g.inputs, { x: DX.data, y: DY.data }, { wrt: ['x', 'y'] }), hvpBothK, 3);

// the kernels and the interpreter agree (a timing of wrong numbers is no timing)
const kj = variantJvp(X, Y, DX, DY, { ...opts, variant: 'ssim' }).jvp;
const ij = forwardTangents(g.loss, g.inputs, { x: DX.data, y: DY.data }).tangent[0]!;
const kh = ssimHvp(X, Y, DX, { ...opts, wrt: 'x' }).hvpX!;
const ih = hessianVector(g.loss, g.inputs, { x: DX.data }, { wrt: ['x'] }).hvps.x!;
let worst = 0, scale = 0;
for (let i = 0; i < n; i++) {
  worst = Math.max(worst, Math.abs(kh[i]! - ih[i]!));
  scale = Math.max(scale, Math.abs(ih[i]!));
}

const t = (m: Timing): string => `${fmtMs(m.median)} (min ${fmtMs(m.min)}${m.steady ? '' : ', not steady'})`;
const ratio = (a: Timing, b: Timing): string => (a.median / b.median).toFixed(2);
const rows: Array<[string, Timing, string, string, string]> = [
  ['JVP in (dx, dy), no map / value', jvp, t(value1), ratio(jvp, value1), '<= 1.5'],
  ['JVP in (dx, dy) with the SSIM map and its tangent (ssimJvp) / value', jvpMap, t(value2), ratio(jvpMap, value2), '(reported)'],
  ['JVP in dx alone (dy zero) / value', jvpX, t(value3), ratio(jvpX, value3), '(reported)'],
  ["HVP, x's row (ssimHvp wrt x) / value + d/dx", hvpX, t(gradX1), ratio(hvpX, gradX1), '<= 2.5'],
  ['HVP, both rows (wrt both) / value + d/dx, d/dy', hvpBoth, t(gradBoth1), ratio(hvpBoth, gradBoth1), '<= 2.5'],
];
const interp: Array<[string, Timing, Timing]> = [
  ['JVP in (dx, dy)', iJvp, jvp2],
  ["HVP, x's row", iHvpX, hvpX2],
  ['HVP, both rows', iHvpBoth, hvpBoth2],
];
console.log(`ssim-grad bench -- jvp, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'})`);
console.log(`plain SSIM (pytorch-ssim: Gaussian 11, zero padding), 512 x 512 x 3, float64; medians, minimum beside`);
console.log(`machine before: ${loadBefore}`);
console.log('');
console.log('| kernels | generated kernel | baseline kernel | ratio (medians) | target |');
console.log('|---|---|---|---|---|');
for (const [name, a, b, r, target] of rows) console.log(`| ${name} | ${t(a)} | ${b} | ${r} | ${target} |`);
console.log('');
console.log('| graph interpreter vs kernel | interpreter | kernel | interpreter / kernel |');
console.log('|---|---|---|---|');
for (const [name, a, b] of interp) console.log(`| ${name} | ${t(a)} | ${t(b)} | ${ratio(a, b)} |`);
console.log('');
console.log(`agreement: JVP |kernel - interpreter| / |interpreter| = ${(Math.abs(kj - ij) / Math.abs(ij)).toExponential(1)}; HVP (x's row) max |diff| / max |H v| = ${(worst / scale).toExponential(1)}`);
console.log(`machine after:  ${machineLoad()}`);
