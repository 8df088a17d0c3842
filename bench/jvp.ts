/**
 * `npm run bench -- jvp`: forward mode and second order of plain SSIM (pytorch-ssim) at 512 x 512 x 3,
 * float64, in this one process on the same inputs: the generated JVP and HVP kernels
 * (src/generated/derivatives.ts, what ssimJvp and ssimHvp run) beside the value and gradient kernels
 * they are priced against (the targets: a JVP at most 1.5x a value, an HVP at most 2.5x a
 * gradient), and the graph interpreter (src/graph/forward.ts, forwardTangents and hessianVector
 * over the field graph, what every other variant runs) on the same work. Medians (the minimum beside
 * them); the interpreter, seconds per call, gets one warm-up and three timed runs.
 */
import { cpus } from 'node:os';
import { forwardTangents, hessianVector } from '../src/graph/forward.js';
import { ssimFast, ssimGradFast } from '../src/runtime/fast.js';
import { ssimHvp, ssimJvp, variantJvp } from '../src/runtime/jvp.js';
import { variantGraph } from '../src/variants/evaluate.js';
import { fmtMs, machineLoad, measure, type Timing } from './measure.js';
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

const fast = async (f: () => unknown): Promise<Timing> => measure(f, { runs: 9 });
const slow = async (f: () => unknown): Promise<Timing> => measure(f, { runs: 3, minWarmup: 1, maxWarmup: 1 });

const value = await fast(() => ssimFast(X, Y, opts, 'float64'));
const gradX = await fast(() => ssimGradFast(X, Y, opts, 'float64', 'x'));
const gradBoth = await fast(() => ssimGradFast(X, Y, opts, 'float64', 'both'));
const jvp = await fast(() => variantJvp(X, Y, DX, DY, { ...opts, variant: 'ssim' }));
const jvpMap = await fast(() => ssimJvp(X, Y, DX, DY, opts));
const jvpX = await fast(() => variantJvp(X, Y, DX, null, { ...opts, variant: 'ssim' }));
const hvpX = await fast(() => ssimHvp(X, Y, DX, { ...opts, wrt: 'x' }));
const hvpBoth = await fast(() => ssimHvp(X, Y, { x: DX, y: DY }, { ...opts, wrt: 'both' }));

// the interpreter on the same graph and directions (what variantJvp / variantHvp run for any other variant)
const g = variantGraph(X, Y, { ...opts, variant: 'ssim' });
const iJvp = await slow(() => forwardTangents(g.loss, g.inputs, { x: DX.data, y: DY.data }));
const iHvpX = await slow(() => hessianVector(g.loss, g.inputs, { x: DX.data }, { wrt: ['x'] }));
const iHvpBoth = await slow(() => hessianVector(g.loss, g.inputs, { x: DX.data, y: DY.data }, { wrt: ['x', 'y'] }));

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
  ['JVP in (dx, dy), no map / value', jvp, t(value), ratio(jvp, value), '<= 1.5'],
  ['JVP in (dx, dy) with the SSIM map and its tangent (ssimJvp) / value', jvpMap, t(value), ratio(jvpMap, value), '(reported)'],
  ['JVP in dx alone (dy zero) / value', jvpX, t(value), ratio(jvpX, value), '(reported)'],
  ["HVP, x's row (ssimHvp wrt x) / value + d/dx", hvpX, t(gradX), ratio(hvpX, gradX), '<= 2.5'],
  ['HVP, both rows (wrt both) / value + d/dx, d/dy', hvpBoth, t(gradBoth), ratio(hvpBoth, gradBoth), '<= 2.5'],
];
const interp: Array<[string, Timing, Timing]> = [
  ['JVP in (dx, dy)', iJvp, jvp],
  ["HVP, x's row", iHvpX, hvpX],
  ['HVP, both rows', iHvpBoth, hvpBoth],
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
