/**
 * `trace --variant`: how a variant's exact gradient at one pixel comes about, read off one
 * recorded float64 evaluation of its graph (variant-model.ts); the form follows the graph, not
 * the variant's name:
 *
 * - the loss is a function of SSIM itself (one SSIM block over x and y, reduced as the options
 *   say; dssim, the 3DGS loss): d value/d ssim (the block's adjoint) times SSIM's trace at the
 *   pixel (beneath it);
 * - one other windowed map over x and y (Wang's form, a user's masked SSIM map): the three terms
 *   and the contributing map pixels over that map, its partials the adjoints of the moments;
 * - several windowed maps, or images pooled, downsampled or mixed before the window (MS-SSIM): one
 *   row per windowed map (a scale): its plane value m_j and d value/d m_j (the block's value and
 *   adjoint), the pixels of its grid p feeds, and its three terms carried back to p by reverse
 *   mode; the rows add up to the exact value at p.
 *
 * What reaches p outside the windowed maps (the 3DGS loss's L1 term) is one more part (`l1`):
 * d value/d node times the node's partial at p, the node the map that hands it over.
 */
import { InputError, shape4 } from '../field/index.js';
import { validateOptions } from '../model/options.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { topoOrder } from '../graph/node.js';
import { checkGradient } from './diagnose.js';
import { refuseNonFinite } from './finite.js';
import { ratio } from './stable.js';
import { formatTrace, graphSource, tracePixel, traceEvaluation, type TraceInput, type TraceResult } from './trace.js';
import { computedBySsimKernels, plainOptions, ssimBlockOf, variantPieces, type VariantPieces, type WindowedShare } from './variant-model.js';
import { BLOCK_KERNELS } from '../runtime/blocks.js';
import type { CheckReport } from './schema.js';

type Terms = { readonly mean: number; readonly square: number; readonly cross: number };

/** One MS-SSIM scale's share of the gradient at the traced pixel. */
export interface ScaleContribution {
  readonly scale: number;
  readonly shape: readonly number[];
  /** The map's label: 'cs' or 'S' (MS-SSIM), a user's map's. */
  readonly map: string;
  /**
   * The plane's mean of the map at this scale (its block's value), and d value/d mean (1/P and the
   * other scales' factors included; NaN, null in JSON, where the map is no block).
   */
  readonly mean: number;
  readonly dValueDMean: number;
  /** The coarse pixels (row, column) p feeds at this scale, with the pooling weight ((1/4)^j in the interior). */
  readonly reads: ReadonlyArray<{ readonly at: readonly [number, number]; readonly weight: number }>;
  /** The scale's three terms at p, pulled back (they include d value/d mean). */
  readonly terms: Terms;
  readonly contribution: number;
}

export interface VariantTraceResult {
  readonly variant: string;
  readonly wrt: 'x' | 'y';
  readonly pixel: readonly [number, number, number, number];
  readonly shape: readonly number[];
  /** The variant's value and its exact gradient at p. */
  readonly value: number;
  readonly exact: number;
  /** The sum of the parts below: equals `exact` to rounding. */
  readonly total: number;
  /** A function of SSIM itself (dssim, the 3DGS loss): d value/d ssim and SSIM's trace at p. */
  readonly factor?: number;
  readonly ssimTrace?: TraceResult;
  /**
   * What reaches p outside the windowed maps (the 3DGS loss's L1 term): d value/d node at p
   * (`coefficient`), the node's partial at p (`sign`: sign(x - y) for x, minus it for y, in the 3DGS
   * loss), their product (`value`), and the node's label.
   */
  readonly l1?: { readonly coefficient: number; readonly sign: number; readonly value: number; readonly through?: string };
  /** One other windowed map over x and y (Wang's form, a user's): the trace over it. */
  readonly mapTrace?: TraceResult;
  /** Several windowed maps (MS-SSIM's scales): one entry each. */
  readonly scales?: readonly ScaleContribution[];
  readonly candidate?: {
    readonly path: string;
    readonly value: number;
    readonly difference: number;
    readonly verdict: CheckReport['verdict'];
    readonly mistake: { readonly kind: string; readonly title: string } | null;
  };
}

/** Traces a variant's exact gradient at one pixel. */
export function traceVariantPixel(input: TraceInput): VariantTraceResult {
  const { x, y, wrt, pixel } = input;
  const options = input.options;
  validateOptions(options); // before anything reads them: wrong types and unknown keys named
  if (computedBySsimKernels(options)) throw new Error('traceVariantPixel: a variant the SSIM kernels compute (plain SSIM) goes through tracePixel');
  const plain = plainOptions(options);
  const [N, C, H, W] = shape4(x, 'x');
  const [n, c, pi, pj] = pixel;
  if (n >= N || c >= C || pi >= H || pj >= W) throw new InputError(`--pixel: (${pixel.join(', ')}) is outside the image [${N}, ${C}, ${H}, ${W}]`);
  const pieces = variantPieces(x, y, options, wrt);
  // as value and grad: a value or exact gradient that is not finite is refused (exit 2), not traced
  refuseNonFinite(input, { value: pieces.value, exact: pieces.exact });
  const p = ((n * C + c) * H + pi) * W + pj;
  const exact = pieces.exact[p]!;
  const base = { variant: pieces.variant, wrt, pixel, shape: [...x.shape], value: pieces.value, exact };
  const withCandidate = (r: Omit<VariantTraceResult, 'candidate'>): VariantTraceResult => {
    if (input.candidate === undefined) return r;
    const cr = checkGradient({ x, y, options, wrt, candidate: input.candidate.data, float32: input.candidate.float32, ...(input.names !== undefined ? { names: input.names } : {}) });
    const value = input.candidate.data[p]!;
    return {
      ...r,
      candidate: {
        path: input.candidate.path, value, difference: value - exact, verdict: cr.report.verdict,
        mistake: cr.named === null ? null : { kind: cr.named.kind, title: cr.named.title },
      },
    };
  };
  const l1 = restAt(pieces, p);
  const rest = l1 === undefined ? {} : { l1 };
  const wins = pieces.shares.map((s) => s.windowed);
  const top = input.top ?? 8;

  if (ssimBlockOf(wins) !== null) {
    const ssimTrace = tracePixel({ x, y, options: plain, wrt, pixel, top, ...(input.names !== undefined ? { names: input.names } : {}) });
    const factor = pieces.factor!;
    return withCandidate({ ...base, total: factor * ssimTrace.exact + (l1?.value ?? 0), factor, ssimTrace, ...rest });
  }

  const only = wins.length === 1 ? wins[0]! : null;
  if (only !== null && only.images.x.kind === 'input' && only.images.y.kind === 'input') {
    const mapTrace = traceEvaluation(graphSource(pieces, pieces.shares[0]!), { x, y, options, wrt, pixel, top }, pieces.variant);
    return withCandidate({ ...base, total: mapTrace.total + (l1?.value ?? 0), mapTrace, ...rest });
  }

  const plane = n * C + c;
  const scales: ScaleContribution[] = [];
  let total = l1?.value ?? 0;
  pieces.shares.forEach((share, j) => {
    const s = scaleAt(pieces, share, j, wrt, p, plane);
    total += s.contribution;
    scales.push(s);
  });
  return withCandidate({ ...base, total, scales, ...rest });
}

/** The part of the gradient at p outside the windowed maps, with the node that hands it over (undefined where there is none). */
function restAt(pieces: VariantPieces, p: number): VariantTraceResult['l1'] {
  if (pieces.offset === null) return undefined;
  const value = pieces.offset[p]!;
  const direct = pieces.rest.filter((c) => c.to.kind === 'input');
  const from = [...new Set(direct.map((c) => c.from))];
  const adj = from.length === 1 && direct.length === pieces.rest.length ? pieces.record.adjoints.get(from[0]!.id) : undefined;
  if (adj === undefined) return { coefficient: value, sign: 1, value, through: 'the rest of the graph' };
  const coefficient = adj.length === 1 ? adj[0]! : adj[p]!;
  return { coefficient, sign: coefficient === 0 ? 0 : value / coefficient, value, through: from[0]!.label };
}

/** One windowed map's row: its plane value and adjoint, the pixels p feeds on its grid, its terms at p. */
function scaleAt(pieces: VariantPieces, share: WindowedShare, j: number, wrt: 'x' | 'y', p: number, plane: number): ScaleContribution {
  const { record, graph } = pieces;
  const w = share.windowed;
  const image = w.images[wrt];
  const [, , h, wd] = image.shape;
  const block = w.block;
  let mean: number;
  let dValueDMean = Number.NaN;
  if (block !== null) {
    const at = block.reduce === 'planes' ? plane : 0;
    mean = record.values.get(block.expanded.id)![at]!;
    dValueDMean = record.adjoints.get(block.expanded.id)?.[at] ?? 0;
  } else {
    const v = record.values.get(w.map.id)!;
    const [, , mh, mw] = w.map.shape;
    let sum = 0;
    for (let q = plane * mh * mw; q < (plane + 1) * mh * mw; q++) sum += v[q]!;
    mean = sum / (mh * mw);
  }
  // p's share on this grid: the linear chain from the input applied to the unit field at p
  const reads: Array<{ at: [number, number]; weight: number }> = [];
  const chain = topoOrder([image], true);
  if (chain.every((k) => k.kind === 'input' || k.kind === 'linear')) {
    const inputs: Record<string, Float64Array> = {};
    for (const [name, v] of Object.entries(graph.inputs)) inputs[name] = new Float64Array(v.length);
    inputs[wrt]![p] = 1;
    const delta = evaluateGraph(image, inputs, { kernels: BLOCK_KERNELS }).value;
    for (let q = 0; q < delta.length; q++) if (delta[q] !== 0) reads.push({ at: [Math.floor(q / wd) % h, q % wd], weight: delta[q]! });
  }
  const terms = { mean: share.terms.mean[p]!, square: share.terms.square[p]!, cross: share.terms.cross[p]! };
  return {
    scale: j, shape: [...image.shape], map: w.map.label, mean, dValueDMean,
    reads, terms, contribution: terms.mean + terms.square + terms.cross,
  };
}

const g4 = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3));
const s4 = (v: number): string => (v < 0 ? g4(v) : ` ${g4(v)}`);
const indent = (text: string): string[] => text.split('\n').map((l) => `    ${l}`);

/** The variant trace as text. */
export function formatVariantTrace(t: VariantTraceResult): string {
  const o = t.wrt;
  const [n, c, i, j] = t.pixel;
  const out: string[] = [];
  // clamped: an exact value of 0 must not print "Infinity"
  const rel = t.exact !== 0 ? ratio(Math.abs(t.total - t.exact), Math.abs(t.exact)) : Math.abs(t.total);
  out.push(`ssim-grad trace: d ${t.variant}/d${o} at pixel n ${n}, c ${c}, i ${i}, j ${j} (image shape [${t.shape.join(', ')}]); ${t.variant} = ${t.value.toPrecision(8)}`);
  out.push('');
  out.push(`exact d ${t.variant}/d${o}(p) = ${g4(t.exact)}`);
  // what reaches p outside the windowed maps (the 3DGS loss's L1 term), one line
  const l1 = t.l1;
  const rest = l1 === undefined ? null
    : `  term through ${l1.through ?? 'the rest'} (outside the windowed maps): d ${t.variant}/d(${l1.through ?? 'it'}) x its d/d${o}(p)   ${g4(l1.coefficient)} x ${g4(l1.sign)} = ${s4(l1.value)}`;
  if (t.factor !== undefined && t.ssimTrace !== undefined) {
    out.push(`  d ${t.variant}/d ssim x d ssim/d${o}(p)   ${g4(t.factor)} x ${g4(t.ssimTrace.exact)} = ${s4(t.factor * t.ssimTrace.exact)}`);
    if (rest !== null) out.push(rest);
    out.push(`  total                              ${s4(t.total)}   (relative difference from exact ${rel.toExponential(1)})`);
    out.push('');
    out.push(`  SSIM's trace beneath it (d ssim/d${o}; multiply by ${g4(t.factor)}):`);
    out.push(...indent(formatTrace(t.ssimTrace)));
  } else if (t.mapTrace !== undefined) {
    if (rest !== null) {
      out.push(rest);
      out.push(`  total (the map's part below and the term above)  ${s4(t.total)}   (relative difference from exact ${rel.toExponential(1)})`);
      out.push('');
    }
    out.push(...indent(formatTrace(t.mapTrace)));
  } else if (t.scales !== undefined) {
    out.push(`  each windowed map j (a scale): d value/d m_j (m_j the plane's mean of the map, cs or S for MS-SSIM) x its d m_j/d${o} at the pixels p feeds, carried back:`);
    out.push(`  ${'scale'.padEnd(7)}${'shape'.padEnd(16)}${'map'.padEnd(5)}${'m_j'.padEnd(11)}${'dvalue/dm_j'.padEnd(13)}${'reads (weight)'.padEnd(24)}${'W^T g_mu'.padEnd(12)}${`2${o} W^T g_${o}${o}`.padEnd(13)}${'W^T g_xy term'.padEnd(14)}contribution`);
    for (const s of t.scales) {
      const reads = s.reads.length === 1 ? `(${s.reads[0]!.at.join(', ')}) ${g4(s.reads[0]!.weight)}` : `${s.reads.length} px, sum ${g4(s.reads.reduce((a, r) => a + r.weight, 0))}`;
      out.push(`  ${String(s.scale).padEnd(7)}${s.shape.join('x').padEnd(16)}${s.map.padEnd(5)}${g4(s.mean).padEnd(11)}${g4(s.dValueDMean).padEnd(13)}${reads.padEnd(24)}${s4(s.terms.mean).padEnd(12)}${s4(s.terms.square).padEnd(13)}${s4(s.terms.cross).padEnd(14)}${s4(s.contribution)}`);
    }
    if (rest !== null) out.push(rest);
    out.push(`  ${'total'.padEnd(125)}${s4(t.total)}   (exact ${g4(t.exact)}; relative difference ${rel.toExponential(1)})`);
  }
  if (t.candidate !== undefined) {
    const cd = t.candidate;
    out.push('');
    out.push(`candidate ${cd.path} at p: ${g4(cd.value)}, exact ${g4(t.exact)}, difference ${g4(cd.difference)} (whole candidate: ${cd.verdict})`);
    if (cd.mistake !== null) out.push(`  it is "${cd.mistake.title}" (run check for the whole picture)`);
    else if (cd.verdict === 'mismatch') out.push('  not one of the known mistakes (run check for the whole picture)');
  }
  return out.join('\n');
}
