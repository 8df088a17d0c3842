/**
 * `trace --variant`: how a variant's exact gradient at one pixel comes about.
 *
 * - dssim, 3dgs-loss: d value/d ssim times SSIM's trace at the pixel (beneath it), plus the 3DGS
 *   loss's L1 term (1 - lambda)/N sign(x(p) - y(p)) (minus it for y).
 * - wang: the three terms and the contributing map pixels, as for SSIM, over Wang's map.
 * - ms-ssim: one row per scale j: d value/d m_j (m_j the plane's mean cs, S at the last scale)
 *   times the scale's own gradient of m_j at the coarse pixels p feeds (its three terms there),
 *   brought back through the pooling transposes; the rows add up to the exact value at p.
 */
import { InputError, sizeOf, type Tensor } from '../field/index.js';
import { evaluateSsim, type VariantOptions } from '../ssim/index.js';
import { checkGradient } from './diagnose.js';
import { formatTrace, tracePixel, traceEvaluation, type TraceInput, type TraceResult } from './trace.js';
import { l1Gradient, plainOptions, variantOf, variantPieces } from './variant-model.js';

type Terms = { readonly mean: number; readonly square: number; readonly cross: number };

/** One MS-SSIM scale's share of the gradient at the traced pixel. */
export interface ScaleContribution {
  readonly scale: number;
  readonly shape: readonly number[];
  /** 'cs' or 'S'. */
  readonly map: string;
  /** The plane's mean of the map at this scale, and d value/d mean (1/P and the other scales' factors included). */
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
  /** dssim, 3dgs-loss: d value/d ssim, SSIM's trace at p, and the L1 term (3dgs-loss). */
  readonly factor?: number;
  readonly ssimTrace?: TraceResult;
  readonly l1?: { readonly coefficient: number; readonly sign: number; readonly value: number };
  /** wang: the trace over Wang's map. */
  readonly mapTrace?: TraceResult;
  /** ms-ssim: one entry per scale. */
  readonly scales?: readonly ScaleContribution[];
  readonly candidate?: {
    readonly path: string;
    readonly value: number;
    readonly difference: number;
    readonly verdict: 'match' | 'mismatch';
    readonly mistake: { readonly kind: string; readonly title: string } | null;
  };
}

/** Traces a variant's exact gradient at one pixel. */
export function traceVariantPixel(input: TraceInput): VariantTraceResult {
  const { x, y, wrt, pixel } = input;
  const options: VariantOptions = input.options;
  const variant = variantOf(options);
  if (variant === 'ssim') throw new Error('traceVariantPixel: plain SSIM goes through tracePixel');
  const plain = plainOptions(options);
  const e = evaluateSsim(x, y, plain);
  const [N, C, H, W] = e.shape;
  const [n, c, pi, pj] = pixel;
  if (n >= N || c >= C || pi >= H || pj >= W) throw new InputError(`--pixel: (${pixel.join(', ')}) is outside the image [${N}, ${C}, ${H}, ${W}]`);
  const pieces = variantPieces(x, y, options, wrt, () => (wrt === 'x' ? e.termsX : e.termsY));
  const p = ((n * C + c) * H + pi) * W + pj;
  const exact = pieces.exact[p]!;
  const base = { variant, wrt, pixel, shape: [...x.shape], value: pieces.value, exact };
  const withCandidate = (r: Omit<VariantTraceResult, 'candidate'>): VariantTraceResult => {
    if (input.candidate === undefined) return r;
    const cr = checkGradient({ x, y, options, wrt, candidate: input.candidate.data, float32: input.candidate.float32 });
    const value = input.candidate.data[p]!;
    return {
      ...r,
      candidate: {
        path: input.candidate.path, value, difference: value - exact, verdict: cr.report.verdict,
        mistake: cr.named === null ? null : { kind: cr.named.kind, title: cr.named.title },
      },
    };
  };

  if (variant === 'dssim' || variant === '3dgs-loss') {
    const ssimTrace = tracePixel({ x, y, options: plain, wrt, pixel, top: input.top ?? 8 });
    const factor = pieces.factor!;
    let l1: VariantTraceResult['l1'];
    let total = factor * ssimTrace.exact;
    if (variant === '3dgs-loss') {
      const lambda = options.lambda ?? 0.2;
      const value = l1Gradient(x, y, lambda, wrt)[p]!;
      const coefficient = ((1 - lambda) / sizeOf(e.shape)) * (wrt === 'x' ? 1 : -1);
      l1 = { coefficient, sign: Math.sign(value / coefficient), value };
      total += value;
    }
    return withCandidate({ ...base, total, factor, ssimTrace, ...(l1 !== undefined ? { l1 } : {}) });
  }

  if (variant === 'wang') {
    const parts = pieces.wang!;
    const other = wrt === 'x' ? 'y' : 'x';
    const otherPieces = variantPieces(x, y, options, other, () => (other === 'x' ? e.termsX : e.termsY));
    const ev = {
      ...e,
      partialsX: parts.partials.x, partialsY: parts.partials.y, termsX: parts.terms.x, termsY: parts.terms.y,
      gradX: wrt === 'x' ? pieces.exact : otherPieces.exact, gradY: wrt === 'y' ? pieces.exact : otherPieces.exact,
    };
    const mapTrace = traceEvaluation(ev, { x, y, options, wrt, pixel, top: input.top ?? 8 }, 'wang');
    return withCandidate({ ...base, total: mapTrace.total, mapTrace });
  }

  // ms-ssim
  const ms = pieces.ms!;
  const plane = n * C + c;
  const scales: ScaleContribution[] = [];
  let total = 0;
  // p's share at each scale: the pooling applied to the unit field at p
  let delta: Float64Array = new Float64Array(sizeOf(e.shape));
  delta[p] = 1;
  ms.scales.forEach((s, j) => {
    if (j > 0) delta = ms.pools[j - 1]!.apply(delta);
    const [, , h, w] = s.shape;
    const t = s.terms[wrt];
    const reads: Array<{ at: [number, number]; weight: number }> = [];
    let mean = 0, square = 0, cross = 0;
    for (let q = 0; q < delta.length; q++) {
      const d = delta[q]!;
      if (d === 0) continue;
      reads.push({ at: [Math.floor(q / w) % h, q % w], weight: d });
      mean += d * t.mean[q]!;
      square += d * t.square[q]!;
      cross += d * t.cross[q]!;
    }
    const contribution = mean + square + cross;
    total += contribution;
    scales.push({
      scale: j, shape: [...s.shape], map: j === ms.scales.length - 1 ? 'S' : 'cs',
      mean: ms.means[j]![plane]!, dValueDMean: ms.dMeans[j]![plane]!, reads, terms: { mean, square, cross }, contribution,
    });
  });
  return withCandidate({ ...base, total, scales });
}

const g4 = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3));
const s4 = (v: number): string => (v < 0 ? g4(v) : ` ${g4(v)}`);
const indent = (text: string): string[] => text.split('\n').map((l) => `    ${l}`);

/** The variant trace as text. */
export function formatVariantTrace(t: VariantTraceResult): string {
  const o = t.wrt;
  const [n, c, i, j] = t.pixel;
  const out: string[] = [];
  const rel = Math.abs(t.total - t.exact) / Math.max(Math.abs(t.exact), Number.MIN_VALUE);
  out.push(`ssim-grad trace: d ${t.variant}/d${o} at pixel n ${n}, c ${c}, i ${i}, j ${j} (image shape [${t.shape.join(', ')}]); ${t.variant} = ${t.value.toPrecision(8)}`);
  out.push('');
  out.push(`exact d ${t.variant}/d${o}(p) = ${g4(t.exact)}`);
  if (t.factor !== undefined && t.ssimTrace !== undefined) {
    out.push(`  d ${t.variant}/d ssim x d ssim/d${o}(p)   ${g4(t.factor)} x ${g4(t.ssimTrace.exact)} = ${s4(t.factor * t.ssimTrace.exact)}`);
    if (t.l1 !== undefined) {
      out.push(`  L1 term ${o === 'x' ? '' : '-'}(1 - lambda)/N sign(x - y)    ${g4(Math.abs(t.l1.coefficient))} x ${t.l1.sign} ${o === 'y' ? 'x -1 ' : ''}= ${s4(t.l1.value)}`);
    }
    out.push(`  total                              ${s4(t.total)}   (relative difference from exact ${rel.toExponential(1)})`);
    out.push('');
    out.push(`  SSIM's trace beneath it (d ssim/d${o}; multiply by ${g4(t.factor)}):`);
    out.push(...indent(formatTrace(t.ssimTrace)));
  } else if (t.mapTrace !== undefined) {
    out.push(...indent(formatTrace(t.mapTrace)));
  } else if (t.scales !== undefined) {
    out.push(`  each scale j: d value/d m_j (m_j the plane's mean of cs, S at the last) x the scale's d m_j/d${o} at the coarse pixels p feeds, pooled back:`);
    out.push(`  ${'scale'.padEnd(7)}${'shape'.padEnd(16)}${'map'.padEnd(5)}${'m_j'.padEnd(11)}${'dvalue/dm_j'.padEnd(13)}${'reads (weight)'.padEnd(24)}${'W^T g_mu'.padEnd(12)}${`2${o} W^T g_${o}${o}`.padEnd(13)}${'W^T g_xy term'.padEnd(14)}contribution`);
    for (const s of t.scales) {
      const reads = s.reads.length === 1 ? `(${s.reads[0]!.at.join(', ')}) ${g4(s.reads[0]!.weight)}` : `${s.reads.length} px, sum ${g4(s.reads.reduce((a, r) => a + r.weight, 0))}`;
      out.push(`  ${String(s.scale).padEnd(7)}${s.shape.join('x').padEnd(16)}${s.map.padEnd(5)}${g4(s.mean).padEnd(11)}${g4(s.dValueDMean).padEnd(13)}${reads.padEnd(24)}${s4(s.terms.mean).padEnd(12)}${s4(s.terms.square).padEnd(13)}${s4(s.terms.cross).padEnd(14)}${s4(s.contribution)}`);
    }
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
