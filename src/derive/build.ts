/**
 * Builds the derivation document for a set of SSIM options from the same graph the kernels are
 * generated from: definitions, the loss, the local partials of S as the graph holds them, the
 * chain rule through each linear operator with its transpose, the gradients, and why the
 * per-pixel chain rule is wrong, with errors measured on the built-in example when the document
 * is generated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, toInfix, type Env, type Node } from '../expr/index.js';
import { parsePng } from '../io/files.js';
import { toLatex, type LatexNames } from '../expr/latex.js';
import { BOUNDARY_RULES } from '../field/boundary.js';
import { differenceNorms, InputError, norm2, type Tensor } from '../field/index.js';
import { evaluateSsim, onImageGrid, resolveOptions, ssimGradFloat32Arith, type SsimConfig, type SsimEvaluation, type SsimOptions } from '../runtime/index.js';
import { pointwiseSsim } from '../model/pointwise.js';
import { PRESET_SUMMARY } from '../model/options.js';
import type { Block, DerivationDoc, Equation } from './model.js';
import { KNOWN_MISTAKES } from '../mistakes/ssim.js';
import { GraphDoc, NAMED_TEX, sampleRun, VAR_TEX, withFunctions, type GraphEquation } from './graph-doc.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { topoOrder, type FieldNode } from '../graph/node.js';
import { variantGraph, type VariantInput } from '../variants/evaluate.js';
import { BLOCK_KERNELS } from '../runtime/blocks.js';
import { forwardSection } from './forward-doc.js';

export { NAMED_TEX, VAR_TEX };

/** A deterministic generator, so that documents and their samples are reproducible. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Window statistics a real pair of windows could produce, in units of L. */
export function statistics(rand: () => number, c: SsimConfig): Env {
  const L = c.dataRange;
  const mx = rand() * L, my = rand() * L, sx = 0.5 * rand() * L, sy = 0.5 * rand() * L, rho = 2 * rand() - 1;
  return {
    mu_x: mx, mu_y: my, m_xx: (sx * sx) / c.covNorm + mx * mx, m_yy: (sy * sy) / c.covNorm + my * my,
    m_xy: (rho * sx * sy) / c.covNorm + mx * my, C1: c.C1, C2: c.C2, c_n: c.covNorm,
  };
}

export function randomImage(rand: () => number, shape: number[], L: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => rand() * L) };
}

/** The document's equations and prose, numbered in order. */
export class Writer {
  readonly blocks: Block[] = [];
  private n = 0;
  h2(text: string, id: string): void {
    this.blocks.push({ kind: 'h2', text, id });
  }
  p(text: string): void {
    this.blocks.push({ kind: 'p', text });
  }
  eq(latex: string, twin: string, samples: Equation['samples'], gradient?: 'x' | 'y', tangent?: Equation['tangent']): Equation {
    const number = ++this.n;
    const e: Equation = { kind: 'eq', id: `eq-${number}`, number, latex, twin, samples, ...(gradient === undefined ? {} : { gradient }), ...(tangent === undefined ? {} : { tangent }) };
    this.blocks.push(e);
    return e;
  }
  table(header: string[], rows: string[][]): void {
    this.blocks.push({ kind: 'table', header, rows });
  }
}

/** The built-in example pair (examples/pair), for the measured errors. */
function examplePair(): { x: Tensor; y: Tensor } {
  const dir = join(import.meta.dirname, '..', '..', 'examples', 'pair');
  return { x: parsePng(readFileSync(join(dir, 'x.png')), 'x.png'), y: parsePng(readFileSync(join(dir, 'y.png')), 'y.png') };
}

/**
 * The per-pixel chain rule of the seed question, (W^T 1) times the partials at the pixel's own
 * window: the checker's mistake of that name, a rewrite of SSIM's adjoint program (src/mistakes/ssim.ts).
 */
export function perPixelChainRule(x: Tensor, y: Tensor, options: SsimOptions, e: SsimEvaluation): Float64Array {
  const mistake = KNOWN_MISTAKES.find((m) => m.kind === 'per-pixel-chain-rule')!;
  return mistake.build({ x, y, options, e, wrt: 'x' })!;
}

const l2Rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => differenceNorms(a, b).l2 / norm2(b);
const sci = (v: number): string => v.toExponential(1).replace(/e([+-])(\d+)$/, (_, s: string, d: string) => ` \\times 10^{${s === '-' ? '-' : ''}${d}}`);

/** The explicit window sum at one pixel, w_a w_b f_{a,b} over a k x k neighbourhood, as a mathjs twin. */
function windowSumTwin(k: number, f: (a: number, b: number) => string): string {
  const terms: string[] = [];
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) terms.push(`w_${a} * w_${b} * ${f(a, b)}`);
  return terms.join(' + ');
}

/** Puts a graph equation in the document (with the printer's functions in its twin's scope). */
function put(w: Writer, e: GraphEquation, gradient?: 'x' | 'y'): Equation {
  return w.eq(e.latex, e.twin, withFunctions(e.samples), gradient);
}

/** SSIM's fine graph under the options (without downsampling) on small sample images, as a document walks it. */
export function ssimGraph(
  options: SsimOptions,
  rand: () => number = lcg(0x9a7),
): {
  doc: GraphDoc;
  x: FieldNode;
  y: FieldNode;
  grads: () => { x: Float64Array; y: Float64Array };
  sample: NonNullable<DerivationDoc['sample']>;
  /** The loss and its inputs on the sample images, for the forward-mode section. */
  forward: { loss: FieldNode; inputs: Readonly<Record<string, Float64Array>> };
} {
  const c = resolveOptions({ ...options, downsample: 1 });
  checkDerivable(c, options as Readonly<Record<string, unknown>>);
  // large enough that the crop leaves some of the map (checkDerivable bounds the crop)
  const k = c.taps.length;
  const n = Math.max(k + 5, c.padding === 'valid' ? 2 * c.crop + k : 2 * c.crop + 1);
  const shape = [1, 1, n, n + 1];
  const x = randomImage(rand, shape, c.dataRange);
  const y = randomImage(rand, shape, c.dataRange);
  const vg = variantGraph(x, y, { ...options, downsample: 1 } as VariantInput);
  const inputs = topoOrder([vg.loss], true).filter((m) => m.kind === 'input');
  const img = (name: string): FieldNode => inputs.find((m) => m.kind === 'input' && m.name === name)!;
  const doc = new GraphDoc({
    output: vg.loss, expand: true, targets: [{ node: img('x'), tex: 'x' }, { node: img('y'), tex: 'y' }], outputTex: 'L', regionCounts: true,
    run: () => sampleRun(vg.loss, vg.inputs),
  });
  let fused: { x: Float64Array; y: Float64Array } | undefined;
  const grads = () => {
    if (fused === undefined) {
      const r = evaluateGraph(vg.loss, vg.inputs, { wrt: ['x', 'y'], kernels: BLOCK_KERNELS });
      fused = { x: r.grads.x!, y: r.grads.y! };
    }
    return fused;
  };
  return { doc, x: img('x'), y: img('y'), grads, sample: { x, y, options: { ...options, downsample: 1 } }, forward: { loss: vg.loss, inputs: vg.inputs } };
}

/** The exact gradient of SSIM as the graph gives it (the index page shows it). */
export function ssimGradientLatex(): string {
  const sg = ssimGraph({ preset: 'pytorch-ssim' });
  return `\\frac{\\partial L}{\\partial x} = ${sg.doc.tex(sg.doc.adjointTerm(sg.x))}`;
}

/**
 * The largest window a derivation document is written for: its explicit window sums (the twins
 * of the moments and of W^T) have size^2 terms, so the document grows with the square of the
 * size (about 0.6 MB of HTML at 11, 1 MB at 51, 6 MB at 255).
 */
export const MAX_DERIVE_WINDOW = 51;

/** Refuses a window too large to derive, naming the option that made it (size, or sigma and truncate). */
export function checkDerivable(c: SsimConfig, options: Readonly<Record<string, unknown>>): void {
  if (c.crop > MAX_DERIVE_WINDOW) throw new InputError(`crop (--crop): got ${c.crop}, expected at most ${MAX_DERIVE_WINDOW} for a derivation (its sample images grow with the crop)`);
  const k = Math.max(c.size, c.taps.length);
  if (k <= MAX_DERIVE_WINDOW) return;
  const by = options['size'] !== undefined ? 'size (--size)' : options['truncate'] !== undefined ? 'truncate (--truncate)' : options['sigma'] !== undefined ? 'sigma (--sigma)' : 'size (--size)';
  throw new InputError(`${by}: a window of ${k} taps, expected at most ${MAX_DERIVE_WINDOW} for a derivation (its window sums have size^2 terms; value, grad and check take up to 255)`);
}

/** Builds the derivation of SSIM's gradient under `options`. */
export function buildDerivation(name: string, title: string, options: SsimOptions): DerivationDoc {
  const c = resolveOptions(options);
  checkDerivable(c, options as Readonly<Record<string, unknown>>);
  const p = pointwiseSsim();
  const named = new Map(p.named.map(([n, node]) => [n, node]));
  const nodeTex = new Map<number, string>(p.named.map(([n, node]) => [node.id, NAMED_TEX[n]!]));
  const names: LatexNames = { nodes: nodeTex, vars: VAR_TEX };
  const w = new Writer();
  const k = c.taps.length;
  const r = (k - 1) / 2;
  const NP = c.size * c.size;
  const rand = lcg(0x55aa + k);
  const pointSamples = (node: Node) => () =>
    Array.from({ length: 8 }, () => {
      const env = statistics(rand, c);
      return { scope: { ...env }, expected: evaluate(node, env) };
    });
  const pointEq = (lhs: string, node: Node): Equation => w.eq(`${lhs} = ${toLatex(node, names)}`, toInfix(node), pointSamples(node));

  const windowText =
    c.window === 'gaussian'
      ? `a Gaussian window of ${k} taps per axis, $w_a \\propto e^{-a^2 / (2 \\sigma^2)}$ for $a = -${r}, \\dots, ${r}$ with $\\sigma = ${c.sigma}$, normalised to sum 1`
      : `a box window of ${k} taps per axis, $w_a = 1/${k}$`;
  const bt = BOUNDARY_RULES[c.padding].doc;

  w.p(
    `This document derives the exact gradient of SSIM as ssim-grad computes it with the options below, from the same expression graph that generates the kernels (\`npm run docs\` writes it; every formula here is printed from that graph). ${c.preset in PRESET_SUMMARY ? `Preset \`${c.preset}\`: ${PRESET_SUMMARY[c.preset]}.` : ''}`,
  );
  w.table(
    ['option', 'value'],
    [
      ['window', `${c.window}, ${k} taps${c.window === 'gaussian' ? `, sigma ${c.sigma}` : ''}`],
      ['boundary', c.padding],
      ['constants', `k1 = ${c.k1}, k2 = ${c.k2}, L = ${c.dataRange}: C1 = ${c.C1}, C2 = ${c.C2}`],
      ['covariance', c.sampleCovariance ? `sample, c_n = NP/(NP-1) = ${NP}/${NP - 1}` : 'population, c_n = 1'],
      ['region', c.crop > 0 ? `the map cropped by ${c.crop} on every side` : 'the whole map'],
      ['downsampling', c.downsample === 'auto' ? 'automatic, f = max(1, round(min(H, W) / 256))' : c.downsample === 1 ? 'none' : `by ${c.downsample}`],
    ],
  );

  // ---- definitions ----
  w.h2('Definitions', 'definitions');
  if (c.downsample !== 1) {
    // the formula for the factor these options give (automatic: shown for f = 2, what a 512 x 512 image gets)
    const f = c.downsample === 'auto' ? 2 : c.downsample;
    const o = Math.floor((f + 1) / 2) - 1;
    w.p(
      `Both images are first downsampled, as Wang's ssim.m does: an $f \\times f$ box filter with half-sample symmetric boundary, keeping every $f$-th pixel from the first${c.downsample === 'auto' ? ' ($f = \\max(1, \\mathrm{round}(\\min(H, W) / 256))$; shown for $f = 2$)' : ''}. Pixel $(i, j)$ of the downsampled image, away from the border:`,
    );
    const terms: string[] = [];
    for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) terms.push(`x_${a}_${b}`);
    // the box's count, printed once for the reader and once for the twin
    const count = f * f;
    w.eq(
      `x'_{i,j} = \\frac{1}{${count}} \\sum_{a=0}^{${f - 1}} \\sum_{b=0}^{${f - 1}} x_{${f}i + a${o > 0 ? ` - ${o}` : ''},\\, ${f}j + b${o > 0 ? ` - ${o}` : ''}}`,
      `(${terms.join(' + ')}) / ${count}`,
      () => {
        const n = 4 * f;
        const img = randomImage(rand, [1, 1, n, n], c.dataRange);
        const e = evaluateSsim(img, img, { ...options, downsample: f, padding: 'same', crop: 0, skipShortAxes: false, size: 1, window: 'box', sigma: undefined, truncate: undefined, preset: 'pytorch-ssim' });
        const scope: Record<string, number> = {};
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) scope[`x_${a}_${b}`] = img.data[(f + a - o) * n + (f + b - o)]!;
        return [{ scope, expected: e.x[1 * (n / f) + 1]! }];
      },
    );
    w.p("Everything below applies to the downsampled images $x', y'$ (written $x, y$), and the gradient is carried back by the transpose $D^\\top$ at the end.");
  }
  w.p(
    `The windowed mean $W$ correlates each channel with ${windowText}, the separable 2-D window $w_a w_b$, under ${bt.forward}. At a pixel whose window lies inside the image:`,
  );
  const windowSamples = (square: boolean) => () => {
    const n = k + 4;
    const img = randomImage(rand, [1, 1, n, n], c.dataRange);
    const other = randomImage(rand, [1, 1, n, n], c.dataRange);
    const e = evaluateSsim(img, other, { ...options, downsample: 1, crop: 0 });
    const map = square ? e.window.apply(Float64Array.from(img.data, (v) => v * v)) : e.window.apply(Float64Array.from(img.data));
    const [, , , mw] = e.window.outShape;
    const ci = c.padding === 'valid' ? 2 : r + 2;
    const scope: Record<string, number> = {};
    c.taps.forEach((t, i) => (scope[`w_${i}`] = t));
    const i0 = c.padding === 'valid' ? ci : ci - r;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) scope[`x_${a}_${b}`] = img.data[(i0 + a) * n + (i0 + b)]!;
    return [{ scope, expected: map[ci * mw + ci]! }];
  };
  w.eq(
    `\\mu_x = w \\star x, \\qquad (w \\star x)_{i,j} = \\sum_{a=-${r}}^{${r}} \\sum_{b=-${r}}^{${r}} w_a \\, w_b \\, x_{i+a,\\,j+b}`,
    windowSumTwin(k, (a, b) => `x_${a}_${b}`),
    windowSamples(false),
  );
  w.p('and likewise $\\mu_y = w \\star y$; the raw second moments are windowed means of products:');
  w.eq(
    `m_{xx} = w \\star (x \\odot x), \\qquad m_{yy} = w \\star (y \\odot y), \\qquad m_{xy} = w \\star (x \\odot y)`,
    windowSumTwin(k, (a, b) => `x_${a}_${b}^2`),
    windowSamples(true),
  );
  w.p(
    `The statistics and the two factors of SSIM, pixel by pixel (${c.sampleCovariance ? `$c_n = ${NP}/${NP - 1}$, the sample covariance` : '$c_n = 1$'}; $C_1 = (k_1 L)^2 = ${c.C1}$, $C_2 = (k_2 L)^2 = ${c.C2}$):`,
  );
  pointEq('\\sigma_x^2', named.get('var_x')!);
  pointEq('\\sigma_y^2', named.get('var_y')!);
  pointEq('\\sigma_{xy}', named.get('cov')!);
  pointEq('A_1', named.get('A1')!);
  pointEq('B_1', named.get('B1')!);
  pointEq('A_2', named.get('A2')!);
  pointEq('B_2', named.get('B2')!);
  const eqS = pointEq('S', p.S);

  // ---- the loss ----
  w.h2('The loss', 'loss');
  w.p(
    `The loss is the mean of the SSIM map over the region $\\Omega$ (${c.crop > 0 ? `the map without a border of ${c.crop} pixels` : 'the whole map'}) of every channel and image, $|\\Omega|$ values in all${c.reduction === 'sum' ? ' (with reduction "sum", the per-channel means are added instead)' : ''}:`,
  );
  w.eq(`L = \\frac{1}{|\\Omega|} \\sum_{p \\in \\Omega} S_p`, 'mean(S_region)', () => {
    const img = randomImage(rand, [1, 2, k + 6, k + 7], c.dataRange);
    const other = randomImage(rand, [1, 2, k + 6, k + 7], c.dataRange);
    const e = evaluateSsim(img, other, { ...options, downsample: 1, reduction: 'mean' });
    return [{ scope: { S_region: Array.from(e.region.apply(e.map)) }, expected: e.ssim }];
  });

  // ---- local partials ----
  w.h2('Local partials of S', 'partials');
  w.p(
    `$S$ is a pointwise function of the five raw moments. Its partial derivatives, as the expression graph holds them after symbolic reverse mode (they share every subexpression with ${'$S$'} itself, eq. ${eqS.number}):`,
  );
  const dmx = pointEq('\\frac{\\partial S}{\\partial \\mu_x}', p.partialsX.mu);
  pointEq('\\frac{\\partial S}{\\partial m_{xx}}', p.partialsX.sq);
  pointEq('\\frac{\\partial S}{\\partial m_{xy}}', p.partialsX.cross);
  w.p('and, for the gradient with respect to $y$:');
  pointEq('\\frac{\\partial S}{\\partial \\mu_y}', p.partialsY.mu);
  pointEq('\\frac{\\partial S}{\\partial m_{yy}}', p.partialsY.sq);

  // ---- chain rule through the linear operators: read off the graph ----
  w.h2('The chain rule through the linear operators', 'chain-rule');
  const sg = ssimGraph(options, rand);
  const doc = sg.doc;
  const moment = (label: string): FieldNode => doc.nodes.find((n) => n.label === label)!;
  const at = (n: FieldNode): number[] => GraphDoc.pixels(n.shape);
  w.p(
    `Reverse mode over SSIM's field graph (src/graph/evaluate.ts, one rule per kind of node) hands the adjoint of $L$ back through the mean ($1/|\\Omega|$ to every value it averaged)${c.crop > 0 ? ', the crop\'s transpose $R^\\top$ (the region put back in place, zeros outside)' : ''} and the partials of $S$ (eq. ${dmx.number} and the following) to the five moment maps. For the moments of $x$, as the graph gives them:`,
  );
  put(w, doc.partsEquation(['mu_x', 'm_xx', 'm_xy'].map((l) => ({ lhs: doc.adjointOf(moment(l)), term: doc.adjointTerm(moment(l)), expected: () => doc.adjointValue(moment(l)) })), at(moment('mu_x'))));
  w.p(
    `Each moment map is a windowed mean, a linear map of $x$ (or of $x \\odot x$, $x \\odot y$), so its adjoint is the transpose $W^\\top$: ${bt.transpose}. Away from the border:`,
  );
  w.eq(
    `(W^\\top g)_{i,j} = \\sum_{a=-${r}}^{${r}} \\sum_{b=-${r}}^{${r}} w_a \\, w_b \\, g_{i-a,\\,j-b}`,
    windowSumTwin(k, (a, b) => `g_${a}_${b}`),
    () => {
      const n = 3 * k;
      const e = evaluateSsim(randomImage(rand, [1, 1, n, n], c.dataRange), randomImage(rand, [1, 1, n, n], c.dataRange), { ...options, downsample: 1, crop: 0 });
      const [, , mh, mw] = e.window.outShape;
      const g = Float64Array.from({ length: mh * mw }, () => rand() - 0.5);
      const WTg = e.window.transpose(g);
      const i = Math.floor(n / 2);
      // input pixel (i, i) gathers map pixel (i - a + off) for tap a (off = r under same-size rules, 0 under 'valid')
      const off = c.padding === 'valid' ? 0 : r;
      const scope: Record<string, number> = {};
      c.taps.forEach((t, q) => (scope[`w_${q}`] = t));
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) scope[`g_${a}_${b}`] = g[(i - a + off) * mw + (i - b + off)]!;
      return [{ scope, expected: WTg[i * n + i]! }];
    },
  );
  w.p(
    'The moments depend on $x$ through $x$ itself ($\\mu_x = W x$), through $p_{xx} = x \\odot x$ (partial $2x$) and through $p_{xy} = x \\odot y$ (partial $y$). Reverse mode through the transposed windows and the products\' partials gives the exact gradient, assembled from the graph and checked against the generated kernels:',
  );
  const gx = put(w, doc.termEquation('\\frac{\\partial L}{\\partial x}', doc.adjointTerm(sg.x), at(sg.x), () => sg.grads().x), 'x');
  w.p("and, with the partials with respect to $y$'s moments (the cross term is shared):");
  put(w, doc.termEquation('\\frac{\\partial L}{\\partial y}', doc.adjointTerm(sg.y), at(sg.y), () => sg.grads().y), 'y');
  if (c.downsample !== 1) w.p("With downsampling, these are gradients with respect to the downsampled images; the gradient with respect to the input is $D^\\top$ of them: each downsampled pixel's adjoint spread back, $1/f^2$ each, over the $f \\times f$ box it averaged (folded at the border by the half-sample symmetric rule).");

  // ---- the seed question ----
  w.h2('Why the per-pixel chain rule is wrong', 'per-pixel');
  w.p(
    'A common hand derivation (the question this project started from) applies the chain rule at one pixel as if the statistics at pixel $p$ depended only on $x_p$: it multiplies the pixel\'s own partials by $W^\\top \\mathbf{1}$, the column sums of the window, instead of correlating the partial maps with the window:',
  );
  w.eq(
    '\\frac{\\partial L}{\\partial x} \\overset{?}{=} \\left(W^\\top \\mathbf{1}\\right) \\odot \\left(g_{\\mu_x} + 2\\, x \\odot g_{xx} + y \\odot g_{xy}\\right)',
    'WT_1 * (g_mu + 2 * x * g_xx + y * g_xy)',
    () => {
      const n = k + 5;
      const [sx, sy] = [randomImage(rand, [1, 1, n, n], c.dataRange), randomImage(rand, [1, 1, n, n], c.dataRange)];
      const sampleOptions = { ...options, downsample: 1 };
      const e = evaluateSsim(sx, sy, sampleOptions);
      const seed = perPixelChainRule(sx, sy, sampleOptions, e);
      const WT1 = e.window.transpose(new Float64Array(e.partialsX.mu.length).fill(1));
      const [mu, sq, cross] = [e.partialsX.mu, e.partialsX.sq, e.partialsX.cross].map((m) => onImageGrid(e, m)) as [Float64Array, Float64Array, Float64Array];
      const q = Math.floor(n / 2) * n + Math.floor(n / 2);
      return [{ scope: { WT_1: WT1[q]!, g_mu: mu[q]!, g_xx: sq[q]!, g_xy: cross[q]!, x: e.x[q]!, y: e.y[q]! }, expected: seed[q]! }];
    },
  );
  const { x, y } = examplePair();
  const exampleOptions = { ...options, dataRange: 1, downsample: options.downsample ?? (c.downsample === 'auto' ? ('auto' as const) : c.downsample) };
  let e: SsimEvaluation;
  try {
    e = evaluateSsim(x, y, exampleOptions);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    w.p(`It is exact only where the partial maps are constant over a window. (The built-in example, 3 x 48 x 64, does not fit these options, so this document carries no measurement: ${err.message}.)`);
    const direction = forwardSection(w, { ...sg.forward, lossTex: 'L', regionCounts: true, rand: lcg(0xd07) });
    return { name, title, summary: PRESET_SUMMARY[c.preset] ?? title, blocks: w.blocks, sample: { ...sg.sample, direction } };
  }
  const seed = perPixelChainRule(x, y, exampleOptions, e);
  const f32 = ssimGradFloat32Arith(x, y, exampleOptions).gradX;
  const seedErr = differenceNorms(seed, e.gradX).maxAbs;
  const floor = differenceNorms(f32, e.gradX).maxAbs;
  w.p(
    `It is exact only where the partial maps are constant over a window. Measured when this document was generated, on the built-in example (\`examples/pair\`, 3 x 48 x 64, values in [0, 1], these options with $L = 1$; SSIM ${e.ssim.toFixed(6)}), against the exact gradient (eq. ${gx.number}):`,
  );
  w.table(
    ['gradient', 'max abs error', 'relative L2 error'],
    [
      ['per-pixel chain rule (above)', `$${sci(seedErr)}$`, `$${sci(l2Rel(seed, e.gradX))}$`],
      ['exact, in float32 arithmetic (the rounding floor)', `$${sci(floor)}$`, `$${sci(l2Rel(f32, e.gradX))}$`],
    ],
  );
  w.p(
    `The per-pixel formula is off by ${(seedErr / floor).toExponential(1).replace('e+', ' x 10^')} times the float32 rounding of the exact gradient: not rounding, a different function. \`npx ssim-grad check\` names this mistake when it meets it, and \`npx ssim-grad trace\` shows, pixel by pixel, the window terms the per-pixel formula leaves out.`,
  );
  const direction = forwardSection(w, { ...sg.forward, lossTex: 'L', regionCounts: true, rand: lcg(0xd07) });
  return { name, title, summary: PRESET_SUMMARY[c.preset] ?? title, blocks: w.blocks, sample: { ...sg.sample, direction } };
}

/** The documents `npm run docs` writes: one per preset family. */
export function presetDerivations(): DerivationDoc[] {
  return [
    buildDerivation('ssim-pytorch-ssim', 'SSIM gradient: pytorch-ssim, fused-ssim, 3DGS (Gaussian 11, zero padding)', { preset: 'pytorch-ssim' }),
    buildDerivation('ssim-pytorch-msssim', "SSIM gradient: pytorch-msssim's ssim (Gaussian 11, 'valid')", { preset: 'pytorch-msssim' }),
    buildDerivation('ssim-skimage', 'SSIM gradient: scikit-image structural_similarity (box 7, reflect, sample covariance, cropped)', { preset: 'skimage', dataRange: 1 }),
    buildDerivation('ssim-skimage-gaussian', 'SSIM gradient: scikit-image with gaussian_weights (Gaussian 11, reflect, sample covariance, cropped)', { preset: 'skimage', window: 'gaussian', dataRange: 1 }),
    buildDerivation('ssim-tf', "SSIM gradient: tf.image.ssim (Gaussian 11, 'valid')", { preset: 'tf', dataRange: 1 }),
    buildDerivation('ssim-matlab', "SSIM gradient: Wang et al. 2004 ssim.m (automatic downsampling, Gaussian 11, 'valid')", { preset: 'matlab' }),
  ];
}
