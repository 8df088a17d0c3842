/**
 * How the exact gradient at one pixel comes about. d ssim/dx(p) is a sum over the map pixels q
 * whose windows read p:
 *
 *   d ssim/dx(p) = sum_q W[q, p] (g_mu(q) + 2 x(p) g_xx(q) + y(p) g_xy(q))
 *
 * with W[q, p] the window weight with which map pixel q reads p (the product of a row tap and a
 * column tap, summed over the taps the boundary rule folds onto p). Grouped by partial, the same
 * sum is the three terms W^T g_mu, 2x W^T g_xx, y W^T g_xy at p.
 */
import { InputError, shape4, sizeOf, type LinearOp, type Shape4, type Tensor } from '../field/index.js';
import type { FieldNode } from '../graph/node.js';
import type { GradientTerms, VariantOptions } from '../runtime/index.js';
import { downsampleFactor, resolveOptions, type SsimConfig } from '../model/options.js';
import { productPartials } from '../model/pointwise.js';
import { axisWeight, windowAxes } from './axes.js';
import { checkGradient } from './diagnose.js';
import { refuseNonFinite } from './finite.js';
import { ratio } from './stable.js';
import { variantPieces, type VariantPieces, type WindowedShare } from './variant-model.js';
import type { CheckReport } from './schema.js';

/** One map pixel's share of the gradient at the traced pixel. */
export interface Contribution {
  /** Map pixel (row, column) in its plane. */
  readonly map: readonly [number, number];
  /** W[q, p] = rowWeight x colWeight. */
  readonly weight: number;
  readonly rowWeight: number;
  readonly colWeight: number;
  /** The taps (0-based) that read p, along rows and columns (two or more when the boundary folds them). */
  readonly rowTaps: readonly number[];
  readonly colTaps: readonly number[];
  /** Whether a tap reaches p through the boundary rule (reflected, mirrored or replicated). */
  readonly throughBoundary: boolean;
  /** omega dS/d(mu, m_ss, m_xy) at q. */
  readonly partials: { readonly mu: number; readonly sq: number; readonly cross: number };
  readonly contribution: number;
}

export interface TraceInput {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: VariantOptions;
  readonly wrt: 'x' | 'y';
  /** n, c, i, j. */
  readonly pixel: readonly [number, number, number, number];
  /** How many contributions to list. */
  readonly top?: number;
  readonly candidate?: { readonly path: string; readonly data: ArrayLike<number>; readonly float32?: boolean };
  /** The images' names for the refusal of a value or gradient that is not finite (the CLI's file names); default 'x', 'y'. */
  readonly names?: { readonly x: string; readonly y: string };
}

type Terms = { readonly mean: number; readonly square: number; readonly cross: number };

/** How the exact gradient at one pixel comes about: the windows' contributions, term by term (tracePixel). */
export interface TraceResult {
  /** The quantity traced when it is not SSIM (Wang's general form); absent for SSIM. */
  readonly quantity?: string;
  readonly wrt: 'x' | 'y';
  readonly pixel: readonly [number, number, number, number];
  readonly shape: readonly number[];
  readonly configuration: { readonly preset: string; readonly window: string; readonly size: number; readonly padding: string };
  /** x(p) and y(p) (self: the image differentiated). */
  readonly self: number;
  readonly other: number;
  readonly exact: number;
  /** W^T g_mu, 2 self W^T g_ss, other W^T g_xy at p. */
  readonly terms: Terms;
  /** How many map pixels read p. */
  readonly mapPixels: number;
  /** The largest contributions, by magnitude. */
  readonly contributions: readonly Contribution[];
  /** The sum of the contributions not listed, and how many they are. */
  readonly rest: { readonly count: number; readonly sum: number };
  /** listed + rest: equals `exact` to rounding. */
  readonly total: number;
  /** The per-pixel chain rule (the seed's formula) at p: (W^T 1)(p) times p's own partials. */
  readonly perPixel: { readonly wt1: number; readonly terms: Terms; readonly value: number };
  readonly candidate?: {
    readonly path: string;
    readonly value: number;
    readonly difference: number;
    readonly verdict: CheckReport['verdict'];
    /** The known mistake the whole candidate was named by, with its terms at p. */
    readonly mistake: { readonly kind: string; readonly title: string; readonly terms: Terms } | null;
    /** The term that differs most from the exact one (by the named mistake), or null. */
    readonly differingTerm: 'mean' | 'square' | 'cross' | null;
    readonly equalsPerPixel: boolean;
  };
}

/** Parses --pixel "n,c,i,j" (or c,i,j / i,j, as many as the image's own shape has) against the image's shape. */
export function parsePixel(arg: string, shape: readonly number[]): [number, number, number, number] {
  const parts = arg.split(',').map((s) => s.trim());
  const full4 = [1, 1, ...shape].slice(-4);
  const own = shape.length;
  const accepted = own === 4 ? 'n,c,i,j' : `n,c,i,j or ${['n', 'c', 'i', 'j'].slice(4 - own).join(',')}`;
  if ((parts.length !== 4 && parts.length !== own) || !parts.every((s) => /^\d+$/.test(s))) {
    throw new InputError(`--pixel: got '${arg}', expected non-negative integers ${accepted} for an image of shape [${shape.join(', ')}]`);
  }
  const v = [0, 0, 0, ...parts.map(Number)].slice(-4);
  const names = ['n', 'c', 'i', 'j'];
  v.forEach((k, a) => {
    if (k >= full4[a]!) throw new InputError(`--pixel: ${names[a]} = ${k} is out of range, expected 0 to ${full4[a]! - 1} (image shape [${shape.join(', ')}], as NCHW [${full4.join(', ')}])`);
  });
  return [v[0]!, v[1]!, v[2]!, v[3]!];
}

/** What a trace over one windowed map reads: the map's partials, the terms and the exact gradient wrt the traced image. */
export interface MapTraceSource {
  readonly shape: Shape4;
  readonly config: SsimConfig;
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** The window W of the map's moments (for (W^T 1)(p)), and the map grid's size. */
  readonly window: LinearOp;
  readonly mapSize: number;
  /** d value/d(mu, m_ss, m_xy) over the map grid, per image: omega dF/d(moment) for a mean of F. */
  readonly partialsX: { readonly mu: Float64Array; readonly sq: Float64Array; readonly cross: Float64Array };
  readonly partialsY: { readonly mu: Float64Array; readonly sq: Float64Array; readonly cross: Float64Array };
  /** The three terms and the exact gradient wrt the traced image, on its grid. */
  readonly terms: GradientTerms;
  readonly exact: Float64Array;
}

/**
 * One windowed map of a recorded evaluation (variant-model.ts) as a trace source: its partials are
 * the recorded adjoints of its moment nodes (d value/d mu_x, d value/d m_xx, ...), its terms and
 * the exact gradient the pieces'. The map must window the input images themselves.
 */
export function graphSource(pieces: VariantPieces, share: WindowedShare): MapTraceSource {
  const { record, graph } = pieces;
  const m = share.windowed.moments;
  const adj = (node: FieldNode): Float64Array => record.adjoints.get(node.id) ?? new Float64Array(sizeOf(node.shape));
  return {
    shape: graph.shape,
    config: graph.config,
    x: graph.inputs.x!,
    y: graph.inputs.y!,
    window: m.mu_x.op,
    mapSize: sizeOf(share.windowed.map.shape),
    partialsX: { mu: adj(m.mu_x), sq: adj(m.m_xx), cross: adj(m.m_xy) },
    partialsY: { mu: adj(m.mu_y), sq: adj(m.m_yy), cross: adj(m.m_xy) },
    terms: pieces.terms,
    exact: pieces.exact,
  };
}

/** Traces the exact gradient at one pixel: SSIM's graph, evaluated once with its contributions recorded. */
export function tracePixel(input: TraceInput): TraceResult {
  const [, , H, W] = shape4(input.x, 'x');
  const f = downsampleFactor(resolveOptions(input.options), H, W);
  if (f > 1) throw new InputError(`--pixel: trace follows the window over the image itself; this configuration downsamples by ${f} first (add --downsample 1)`);
  const pieces = variantPieces(input.x, input.y, input.options, input.wrt);
  // as value and grad: a value or exact gradient that is not finite is refused (exit 2), not traced
  refuseNonFinite(input, { value: pieces.value, exact: pieces.exact });
  return traceEvaluation(graphSource(pieces, pieces.shares[0]!), input);
}

/**
 * The trace over one windowed map's partials: SSIM's, or another map's (Wang's general form, a
 * user's; `quantity` naming it).
 */
export function traceEvaluation(e: MapTraceSource, input: TraceInput, quantity?: string): TraceResult {
  const { x, y, options, wrt, pixel } = input;
  const [N, C, H, W] = e.shape;
  const f = downsampleFactor(e.config, H, W);
  if (f > 1) throw new InputError(`--pixel: trace follows the window over the image itself; this configuration downsamples by ${f} first (add --downsample 1)`);
  const [n, c, pi, pj] = pixel;
  if (n >= N || c >= C || pi >= H || pj >= W) throw new InputError(`--pixel: (${pixel.join(', ')}) is outside the image [${N}, ${C}, ${H}, ${W}]`);
  const { rows, cols } = windowAxes(e.config, e.shape);
  const MH = rows.outLength;
  const MW = cols.outLength;
  const p = ((n * C + c) * H + pi) * W + pj;
  const [selfImg, otherImg, g] = wrt === 'x' ? [e.x, e.y, e.partialsX] : [e.y, e.x, e.partialsY];
  const terms = e.terms;
  const self = selfImg[p]!;
  const other = otherImg[p]!;
  // d(mu, m_ss, m_xy)/d(self) at p from the products' graph: 1, 2 self, other
  const d = productPartials(wrt, self, other);
  const originOf = (op: typeof rows): number => (op.taps.length === 1 || e.config.padding === 'valid' ? 0 : (op.taps.length - 1) / 2);
  const rowsReading: Array<{ q: number; weight: number; taps: number[]; folded: boolean }> = [];
  for (let q = 0; q < MH; q++) {
    const a = axisWeight(rows, q, pi);
    if (a.taps.length > 0) rowsReading.push({ q, ...a, folded: a.taps.some((t) => q + t - originOf(rows) !== pi) });
  }
  const colsReading: typeof rowsReading = [];
  for (let q = 0; q < MW; q++) {
    const a = axisWeight(cols, q, pj);
    if (a.taps.length > 0) colsReading.push({ q, ...a, folded: a.taps.some((t) => q + t - originOf(cols) !== pj) });
  }
  const all: Contribution[] = [];
  for (const r of rowsReading) {
    for (const s of colsReading) {
      const q = ((n * C + c) * MH + r.q) * MW + s.q;
      const partials = { mu: g.mu[q]!, sq: g.sq[q]!, cross: g.cross[q]! };
      const weight = r.weight * s.weight;
      all.push({
        map: [r.q, s.q], weight, rowWeight: r.weight, colWeight: s.weight, rowTaps: r.taps, colTaps: s.taps,
        throughBoundary: r.folded || s.folded, partials,
        contribution: weight * (d.mu * partials.mu + d.sq * partials.sq + d.cross * partials.cross),
      });
    }
  }
  const top = Math.min(input.top ?? 8, all.length);
  const order = all.map((_, k) => k).sort((a, b) => Math.abs(all[b]!.contribution) - Math.abs(all[a]!.contribution) || a - b);
  const listed = order.slice(0, top).map((k) => all[k]!);
  let listedSum = 0;
  for (const k of order.slice(0, top)) listedSum += all[k]!.contribution;
  let restSum = 0;
  for (const k of order.slice(top)) restSum += all[k]!.contribution;

  // the seed's formula reads p's own partials: the map pixel at p (centred for 'valid')
  const wt1 = e.window.transpose(new Float64Array(e.mapSize).fill(1))[p]!;
  const qi = pi - (H - MH) / 2;
  const qj = pj - (W - MW) / 2;
  const own = qi >= 0 && qi < MH && qj >= 0 && qj < MW ? ((n * C + c) * MH + qi) * MW + qj : -1;
  const at = (a: Float64Array): number => (own < 0 ? 0 : a[own]!);
  const ppTerms = { mean: wt1 * d.mu * at(g.mu), square: wt1 * d.sq * at(g.sq), cross: wt1 * d.cross * at(g.cross) };
  const perPixel = { wt1, terms: ppTerms, value: ppTerms.mean + ppTerms.square + ppTerms.cross };
  const exactTerms = { mean: terms.mean[p]!, square: terms.square[p]!, cross: terms.cross[p]! };
  const exact = e.exact[p]!;

  let candidate: TraceResult['candidate'];
  if (input.candidate !== undefined) {
    const value = input.candidate.data[p]!;
    const r = checkGradient({ x, y, options, wrt, candidate: input.candidate.data, float32: input.candidate.float32, ...(input.names !== undefined ? { names: input.names } : {}) });
    let mistake: NonNullable<TraceResult['candidate']>['mistake'] = null;
    let differingTerm: 'mean' | 'square' | 'cross' | null = null;
    const mt = r.named?.terms(r.context) ?? null;
    if (r.named !== null && mt !== null) {
      mistake = { kind: r.named.kind, title: r.named.title, terms: { mean: mt.mean[p]!, square: mt.square[p]!, cross: mt.cross[p]! } };
      const diffs = (['mean', 'square', 'cross'] as const).map((k) => [k, Math.abs(mistake!.terms[k] - exactTerms[k])] as const);
      diffs.sort((a, b) => b[1] - a[1]);
      differingTerm = diffs[0]![1] > 0 ? diffs[0]![0] : null;
    }
    const scaleRef = Math.max(Math.abs(value), Math.abs(perPixel.value), Number.MIN_VALUE);
    candidate = {
      path: input.candidate.path, value, difference: value - exact, verdict: r.report.verdict, mistake, differingTerm,
      equalsPerPixel: Math.abs(value - perPixel.value) <= 1e-6 * scaleRef,
    };
  }
  return {
    ...(quantity !== undefined ? { quantity } : {}),
    wrt, pixel, shape: [...x.shape],
    configuration: { preset: e.config.preset, window: e.config.window, size: e.config.size, padding: e.config.padding },
    self, other, exact, terms: exactTerms, mapPixels: all.length, contributions: listed,
    rest: { count: all.length - top, sum: restSum }, total: listedSum + restSum, perPixel,
    ...(candidate !== undefined ? { candidate } : {}),
  };
}

const g4 = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3));
const s4 = (v: number): string => (v < 0 ? g4(v) : ` ${g4(v)}`);

/** The trace as text. */
export function formatTrace(t: TraceResult): string {
  const o = t.wrt;
  const other = o === 'x' ? 'y' : 'x';
  const [n, c, i, j] = t.pixel;
  const out: string[] = [];
  const q = t.quantity ?? 'ssim';
  const S = t.quantity === undefined ? 'S' : 'F';
  out.push(`ssim-grad trace: d ${q}/d${o} at pixel n ${n}, c ${c}, i ${i}, j ${j} (image shape [${t.shape.join(', ')}])`);
  out.push(`  ${t.configuration.preset}: ${t.configuration.window} ${t.configuration.size}, padding ${t.configuration.padding}; ${o}(p) = ${g4(t.self)}, ${other}(p) = ${g4(t.other)}`);
  out.push('');
  out.push(`exact d ${q}/d${o}(p) = ${g4(t.exact)}, the sum of three terms (g_* = omega d${S}/d(moment), omega = 1/count of the mean${S === 'F' ? `, F ${q}'s map` : ''}):`);
  out.push(`  W^T g_mu             ${s4(t.terms.mean)}`);
  out.push(`  2${o} . W^T g_${o}${o}        ${s4(t.terms.square)}`);
  out.push(`  ${other} . W^T g_xy         ${s4(t.terms.cross)}`);
  out.push('');
  out.push(`${t.mapPixels} map pixels q read p; each adds w(q, p) (g_mu + 2${o}(p) g_${o}${o} + ${other}(p) g_xy)(q), w the window weight (row tap x column tap):`);
  out.push(`  ${'map (i, j)'.padEnd(12)}${'w = row x col [taps]'.padEnd(34)}${'g_mu'.padEnd(12)}${`g_${o}${o}`.padEnd(12)}${'g_xy'.padEnd(12)}contribution`);
  for (const k of t.contributions) {
    const taps = `[${k.rowTaps.join('+')}, ${k.colTaps.join('+')}]${k.throughBoundary ? ' via boundary' : ''}`;
    const w = `${g4(k.weight)} = ${g4(k.rowWeight)} x ${g4(k.colWeight)} ${taps}`;
    out.push(`  ${`(${k.map[0]}, ${k.map[1]})`.padEnd(12)}${w.padEnd(34)}${s4(k.partials.mu).padEnd(12)}${s4(k.partials.sq).padEnd(12)}${s4(k.partials.cross).padEnd(12)}${s4(k.contribution)}`);
  }
  if (t.rest.count > 0) out.push(`  ${`the other ${t.rest.count}`.padEnd(82)}${s4(t.rest.sum)}`);
  // clamped: an exact value of 1e-320 must not print "Infinity"
  const rel = t.exact !== 0 ? ratio(Math.abs(t.total - t.exact), Math.abs(t.exact)) : Math.abs(t.total);
  out.push(`  ${'total'.padEnd(82)}${s4(t.total)}   (exact ${g4(t.exact)}; relative difference ${rel.toExponential(1)})`);
  out.push('');
  const pp = t.perPixel;
  out.push(`the per-pixel chain rule (the seed's formula) would give (W^T 1)(p) = ${g4(pp.wt1)} times p's own partials: ${g4(pp.value)}`);
  out.push(`  terms ${g4(pp.terms.mean)}, ${g4(pp.terms.square)}, ${g4(pp.terms.cross)}: off by ${g4(pp.value - t.exact)} (${g4(pp.terms.mean - t.terms.mean)}, ${g4(pp.terms.square - t.terms.square)}, ${g4(pp.terms.cross - t.terms.cross)})`);
  if (t.candidate !== undefined) {
    const cd = t.candidate;
    out.push('');
    out.push(`candidate ${cd.path} at p: ${g4(cd.value)}, exact ${g4(t.exact)}, difference ${g4(cd.difference)} (whole candidate: ${cd.verdict})`);
    if (cd.mistake !== null) {
      const m = cd.mistake.terms;
      out.push(`  it is "${cd.mistake.title}"; its terms at p: ${g4(m.mean)}, ${g4(m.square)}, ${g4(m.cross)} against exact ${g4(t.terms.mean)}, ${g4(t.terms.square)}, ${g4(t.terms.cross)}`);
      if (cd.differingTerm !== null) out.push(`  the ${cd.differingTerm} term differs most (${g4(m[cd.differingTerm] - t.terms[cd.differingTerm])})`);
    } else if (cd.equalsPerPixel) out.push("  it equals the per-pixel chain rule's value here");
    else if (cd.verdict === 'mismatch') out.push('  not one of the known mistakes (run check for the whole picture)');
  }
  return out.join('\n');
}
