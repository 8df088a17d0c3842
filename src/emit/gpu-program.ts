/**
 * The GPU schedule of the SSIM kernels as pass programs (src/kernel/ir.ts): the four passes of
 * kernels.ts (the CPU version of the same algorithm), each a gather with one invocation per output
 * element, reading and writing the program's global buffers only (no scratch inside a pass, no
 * atomics, no shared memory), so that every GPU printer prints them as they are:
 *
 *   forward   1  horizontal correlation of x, y, x x, y y, x y with tapsW       grid MW x H x planes
 *             2  vertical correlation with tapsH + the pointwise map (+ its      grid MW x MH x planes
 *                weighted partials when they are stored), zero outside the crop
 *             r  row sums, plane sums, the weighted total (deterministic order; the 3DGS loss adds
 *                the L1 term's sums beside them)
 *   backward (1, 2 again when the partials are recomputed)
 *             3  vertical transpose of the partial maps, the boundary's fold-back as a gather
 *             4  horizontal transpose (gather) fused with the chain rule
 *                d/dx = W^T g_mu_x + 2 x W^T g_xx + y W^T g_xy (and d/dy; and the L1 term's sign)
 *
 * The schedule is data (GpuSchedule): 'store' keeps the omega-weighted partial maps as outputs of
 * the forward that the backward reads (3 image-sized maps for d/dx, 5 with d/dy); 'recompute'
 * keeps none, and the backward recomputes the moments and partials into its own scratch.
 *
 * The boundary rule is fixed when the programs are built: its index rule is the function
 * source_<rule>(j, n) (src/kernel/index-rule.ts), printed by every printer from its one home. Or it
 * is a runtime scalar (RUNTIME_RULE): the programs then read the rule's index `rule` and call
 * boundaryIndex(j, n, rule), every rule's index program in one function (the C++ header's, printed
 * from the same home); the offset and the fold-back test the rule's table entry at run time.
 * The map's size (MH, MW) is a scalar the host computes with mapSize (src/model/geometry.ts), the
 * one geometry rule: gpuArguments below does it.
 */
import { abs, sub, variable, vjp, type Node } from '../expr/index.js';
import { BOUNDARY_RULES, type Boundary } from '../field/boundary.js';
import { BOUNDARIES } from '../field/boundary.js';
import { boundaryIndexFunction, sourceFunction, sourceFunctionName } from '../kernel/index-rule.js';
import { cmp, int, load, real, s, type Expr, type Func, type Pass, type PassProgram, type Stmt, type ValueType } from '../kernel/ir.js';
import { lowerScalar } from '../kernel/scalar.js';
import { mapSize } from '../model/geometry.js';
import { momentProducts } from '../model/pointwise.js';
import { familyDefault, KERNEL_FAMILIES } from './families.js';
import { pointwiseGraphs } from './kernels.js';
import type { KernelParams } from './params.js';

/** The kernel families with GPU programs: the generated families' maps, and the fused 3DGS loss (SSIM's map). */
export type GpuFamily = 'ssim' | 'cs' | 'wang' | 'gs-loss';
export const GPU_FAMILIES: readonly GpuFamily[] = ['ssim', 'cs', 'wang', 'gs-loss'];

/** The schedule, as data. */
export interface GpuSchedule {
  /** 'store': the forward writes the weighted partial maps for the backward; 'recompute': the backward recomputes them. */
  readonly partials: 'store' | 'recompute';
}

/** The boundary rule as a runtime scalar `rule` (its index in BOUNDARIES) instead of one fixed rule. */
export const RUNTIME_RULE = 'runtime';
export type GpuBoundary = Boundary | typeof RUNTIME_RULE;

export interface GpuProgramOptions {
  /** The rule the programs are built for, or RUNTIME_RULE: one program for every rule, the rule a scalar. */
  readonly boundary: GpuBoundary;
  /** Whether the backward writes d/dy too (and the stored schedule keeps y's two partial maps). */
  readonly gradY: boolean;
  readonly schedule: GpuSchedule;
}

export interface GpuPrograms {
  readonly forward: PassProgram;
  readonly backward: PassProgram;
  /** The functions the passes call (the boundary's source function, or boundaryIndex under RUNTIME_RULE). */
  readonly funcs: Func[];
  /** The buffers the forward writes and the backward reads: image-sized maps kept between them. */
  readonly kept: readonly string[];
}

// ---- names and indices ----

const I = int.ref;
const NC = I('NC'), H = I('H'), W = I('W'), MH = I('MH'), MW = I('MW'), KH = I('kh'), KW = I('kw'), CROP = I('crop');

/** The five moments: their names (the pointwise graph's variables) and their index in the moment buffer. */
const MOMENTS = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const;
/** The partial maps: d/dx needs the first three, d/dy all five (g_xy serves both). */
const PARTIALS = ['mu_x', 'xx', 'xy', 'mu_y', 'yy'] as const;
const partialsFor = (gradY: boolean): readonly (typeof PARTIALS)[number][] => (gradY ? PARTIALS : PARTIALS.slice(0, 3));

/** Element (p, r, c) of an image plane (NC x H x W). */
const imageAt = (p: Expr, r: Expr, c: Expr): Expr => int.add(int.mul(int.add(int.mul(p, H), r), W), c);
/** Element (p, i, j) of a map (NC x MH x MW). */
const mapAt = (p: Expr, i: Expr, j: Expr): Expr => int.add(int.mul(int.add(int.mul(p, MH), i), MW), j);
/** Element (m, p, r, j) of the row-filtered buffer: component m of plane p, image row r, map column j (m x NC x H x MW). */
const rowsAt = (m: number, p: Expr, r: Expr, j: Expr): Expr => int.add(int.mul(int.add(int.mul(int.add(int.mul(int.lit(m), NC), p), H), r), MW), j);

const IMAGE = int.mul(int.mul(NC, H), W);
const MAP = int.mul(int.mul(NC, MH), MW);
const rowsSize = (components: number): Expr => int.mul(int.mul(int.mul(int.lit(components), NC), H), MW);

const acc = (e: Expr): Expr => real.cast('acc', e);
const f64 = (name: string): Expr => real.ref(name, 'f64');
const zero = real.lit(0);

// ---- the families ----

interface FamilyGraphs {
  /** The pointwise graphs: the map's value, and the omega-weighted partials named g_<partial> (kernels.ts). */
  readonly graphs: ReturnType<typeof pointwiseGraphs>;
  /** Runtime scalar parameters of the map ('f64'). */
  readonly params: readonly string[];
  /** Whether the L1 term of the 3DGS loss is fused in. */
  readonly l1: boolean;
}

function familyGraphs(family: GpuFamily): FamilyGraphs {
  const name = family === 'gs-loss' ? 'ssim' : family;
  const f = KERNEL_FAMILIES.find((k) => k.name === name);
  if (f === undefined) throw new Error(`gpuPrograms: no kernel family '${name}'`);
  return { graphs: pointwiseGraphs(f.map()), params: Object.keys(f.params), l1: family === 'gs-loss' };
}

// ---- statements the passes share ----

const RULE: Expr = { k: 'ref', type: 'rule', name: 'rule' };
/** Whether the runtime rule is one of the rules with `has` in their table entry (false when none has it). */
function ruleHas(has: (b: Boundary) => boolean): Expr {
  const tests = BOUNDARIES.flatMap((b, i): Expr[] => (has(b) ? [cmp.eq(RULE, { k: 'lit', type: 'rule', value: i })] : []));
  return tests.length === 0 ? { k: 'lit', type: 'bool', value: 0 } : tests.reduce((a, t) => cmp.or(a, t));
}
const source = (b: GpuBoundary, j: Expr, n: Expr): Expr =>
  b === RUNTIME_RULE ? { k: 'call', type: 'i32', fn: 'boundaryIndex', args: [j, n, RULE] } : { k: 'call', type: 'i32', fn: sourceFunctionName(b), args: [j, n] };
/** The window's offset: (k - 1) / 2 where the rule pads, 0 under 'valid' (the map shrinks instead). */
const offset = (b: GpuBoundary, k: Expr): Expr =>
  b === RUNTIME_RULE ? int.select(ruleHas((r) => BOUNDARY_RULES[r].pads), int.shr(int.sub(k, 1), 1), 0) : BOUNDARY_RULES[b].pads ? int.shr(int.sub(k, 1), 1) : int.lit(0);

/** acc_name = acc_name + w * e, for each pair. */
const accumulate = (w: Expr, terms: ReadonlyArray<readonly [string, Expr]>): Stmt[] => terms.map(([v, e]) => s.set(v, real.add(real.ref(v), real.mul(w, e))));

/** Mutable accumulators at zero. */
const zeros = (names: readonly string[]): Stmt[] => names.map((n) => s.var(n, zero, 'acc'));

/**
 * The pointwise map lowered (lowerScalar) over the moments in locals mu_x, ..., its runtime
 * parameters and constants cast from their 'f64' scalars, and omega the local `wgt`.
 */
function pointwise(outputs: ReadonlyArray<readonly [string, Node]>, names: ReadonlyMap<Node, string>, params: readonly string[]): Stmt[] {
  const constants = new Set(['C1', 'C2', 'c_n', ...params]);
  const variable = (name: string): Expr => {
    if ((MOMENTS as readonly string[]).includes(name)) return real.ref(name);
    if (constants.has(name)) return acc(f64(name));
    if (name === 'omega') return real.ref('wgt');
    throw new Error(`gpuPrograms: the pointwise map reads '${name}', which no pass provides`);
  };
  return lowerScalar(outputs, names, { variable, prefix: 'pw' }).stmts;
}

/** The plane's weight of the partials: omega of the plane (times -lambda for the 3DGS loss's lambda (1 - SSIM)). */
function weight(l1: boolean): Stmt {
  const w = acc(load('weight', I('p'), 'f64'));
  return s.let('wgt', l1 ? real.mul(real.neg(acc(f64('lambda'))), w) : w, 'acc');
}

/** Pass 1: the horizontal correlation of the five products, one invocation per (map column, image row, plane). */
function horizontalPass(b: GpuBoundary): Pass {
  const [j, r, p] = ['j', 'r', 'p'].map(I) as [Expr, Expr, Expr];
  const xv = real.ref('xv'), yv = real.ref('yv');
  return {
    name: 'horizontal',
    doc: 'the rows of x, y, x x, y y, x y correlated with tapsW under the boundary rule (rows: 5 x planes x H x MW)',
    index: ['j', 'r', 'p'],
    grid: [MW, H, NC],
    body: [
      ...zeros(['h_x', 'h_y', 'h_xx', 'h_yy', 'h_xy']),
      s.for('tap', 0, KW, [
        s.let('c', source(b, int.sub(int.add(j, I('tap')), offset(b, KW)), W), 'i32'),
        s.if(cmp.ge(I('c'), 0), [
          s.let('xv', acc(load('x', imageAt(p, r, I('c')), 'real')), 'acc'),
          s.let('yv', acc(load('y', imageAt(p, r, I('c')), 'real')), 'acc'),
          s.let('w', acc(load('tapsW', I('tap'), 'f64')), 'acc'),
          ...accumulate(real.ref('w'), [
            ['h_x', xv],
            ['h_y', yv],
            ['h_xx', real.mul(xv, xv)],
            ['h_yy', real.mul(yv, yv)],
            ['h_xy', real.mul(xv, yv)],
          ]),
        ]),
      ]),
      ...['h_x', 'h_y', 'h_xx', 'h_yy', 'h_xy'].map((v, m) => s.store('rows', rowsAt(m, p, r, j), real.ref(v))),
    ],
  };
}

/**
 * Pass 2: the vertical correlation of the rows into the five moments at map pixel (i, j), the
 * pointwise map and/or its weighted partials; zero outside the cropped region.
 */
function verticalPass(b: GpuBoundary, f: FamilyGraphs, what: { value: boolean; partials: readonly string[] }): Pass {
  const [j, i, p] = ['j', 'i', 'p'].map(I) as [Expr, Expr, Expr];
  const g = f.graphs;
  const outputs: Array<readonly [string, Node]> = [];
  if (what.value) outputs.push(['map_value', g.value[0]![1]]);
  for (const name of what.partials) outputs.push([`w_${name}`, g.grad.find(([n]) => n === `g_${name}`)![1]]);
  const stores = (inside: boolean): Stmt[] => [
    ...(what.value ? [s.store('smap', mapAt(p, i, j), inside ? real.ref('map_value') : zero)] : []),
    ...what.partials.map((n) => s.store(`g_${n}`, mapAt(p, i, j), inside ? real.ref(`w_${n}`) : zero)),
  ];
  const inRegion = cmp.and(cmp.and(cmp.ge(i, CROP), cmp.lt(i, int.sub(MH, CROP))), cmp.and(cmp.ge(j, CROP), cmp.lt(j, int.sub(MW, CROP))));
  return {
    name: what.value ? 'vertical' : 'vertical_partials',
    doc: `the rows correlated with tapsH into the five moments, then ${[what.value ? 'the map' : '', what.partials.length > 0 ? 'its weighted partials' : ''].filter(Boolean).join(' and ')} (zero outside the region)`,
    index: ['j', 'i', 'p'],
    grid: [MW, MH, NC],
    body: [
      s.if(
        inRegion,
        [
          ...zeros(MOMENTS),
          s.for('tap', 0, KH, [
            s.let('r', source(b, int.sub(int.add(i, I('tap')), offset(b, KH)), H), 'i32'),
            s.if(cmp.ge(I('r'), 0), [
              s.let('w', acc(load('tapsH', I('tap'), 'f64')), 'acc'),
              ...accumulate(
                real.ref('w'),
                MOMENTS.map((m, k) => [m, load('rows', rowsAt(k, p, I('r'), j), 'acc')] as const),
              ),
            ]),
          ]),
          ...(what.partials.length > 0 ? [weight(f.l1)] : []),
          ...pointwise(outputs, g.names, f.params),
          ...stores(true),
        ],
        stores(false),
      ),
    ],
  };
}

/** The reduction passes: per (plane, map row), per plane, the weighted total (and the 3DGS loss's L1 sums). */
function reductionPasses(l1: boolean): Pass[] {
  const [i, p] = [I('i'), I('p')];
  const sumLoop = (v: string, from: Expr | number, to: Expr | number, e: (k: Expr) => Expr): Stmt[] => [s.var(v, zero, 'acc'), s.for('k', from, to, [s.set(v, real.add(real.ref(v), e(I('k'))))])];
  const rowPass: Pass = {
    name: 'row_sums',
    doc: "each map row's sum of the map over the region's columns",
    index: ['i', 'p'],
    grid: [MH, NC],
    body: [...sumLoop('sum', CROP, int.sub(MW, CROP), (k) => load('smap', mapAt(p, i, k), 'acc')), s.store('rowSums', int.add(int.mul(p, MH), i), real.ref('sum'))],
  };
  const l1RowPass: Pass = {
    name: 'l1_row_sums',
    doc: "each image row's sum of |x - y|",
    index: ['i', 'p'],
    grid: [H, NC],
    body: [
      ...sumLoop('sum', 0, W, (k) => real.call('abs', real.sub(acc(load('x', imageAt(p, i, k), 'real')), acc(load('y', imageAt(p, i, k), 'real'))))),
      s.store('l1Rows', int.add(int.mul(p, H), i), real.ref('sum')),
    ],
  };
  const planePass: Pass = {
    name: 'plane_sums',
    doc: "each plane's sum of the map over the region: its rows' sums in row order" + (l1 ? "; and the plane's sum of |x - y|" : ''),
    index: ['p'],
    grid: [NC],
    body: [
      ...sumLoop('sum', CROP, int.sub(MH, CROP), (k) => load('rowSums', int.add(int.mul(p, MH), k), 'acc')),
      s.store('planeSums', p, real.ref('sum')),
      ...(l1 ? [...sumLoop('l1', 0, H, (k) => load('l1Rows', int.add(int.mul(p, H), k), 'acc')), s.store('l1Planes', p, real.ref('l1'))] : []),
    ],
  };
  const weighted = sumLoop('total', 0, NC, (k) => real.mul(acc(load('weight', k, 'f64')), load('planeSums', k, 'acc')));
  const lambda = acc(f64('lambda'));
  const one = real.lit(1);
  const totalPass: Pass = {
    name: 'total',
    doc: l1 ? 'the loss (1 - lambda) mean|x - y| + lambda (1 - sum_p omega_p planeSum_p)' : 'the value: sum_p omega_p planeSum_p, the planes in order',
    index: ['z'],
    grid: [int.lit(1)],
    body: l1
      ? [
          ...weighted,
          ...sumLoop('l1', 0, NC, (k) => load('l1Planes', k, 'acc')),
          s.store(
            'value',
            0,
            real.add(real.mul(real.sub(one, lambda), real.div(real.ref('l1'), acc(IMAGE))), real.mul(lambda, real.sub(one, real.ref('total')))),
          ),
        ]
      : [...weighted, s.store('value', 0, real.ref('total'))],
  };
  return l1 ? [rowPass, l1RowPass, planePass, totalPass] : [rowPass, planePass, totalPass];
}

/**
 * The transposed window along one axis as a gather: output position `at` of an axis of length n
 * receives, from every map position m and tap t with source(m + t - off, n) == at, taps[t] times
 * the map there. The positions u = m + t - off that read `at` are `at` itself and those of the
 * padding (u < 0 or u >= n) that the rule maps to it; each is a loop over the taps.
 */
function transposedGather(
  b: GpuBoundary,
  at: Expr,
  n: Expr,
  k: Expr,
  m: Expr,
  taps: string,
  terms: ReadonlyArray<readonly [string, (pos: Expr) => Expr]>,
  tag: string,
): Stmt[] {
  const off = offset(b, k);
  const pos = `${tag}m`;
  const gather = (u: Expr): Stmt[] => [
    s.for('tap', 0, k, [
      s.let(pos, int.sub(int.add(u, off), I('tap')), 'i32'),
      s.if(cmp.and(cmp.ge(I(pos), 0), cmp.lt(I(pos), m)), [s.let('w', acc(load(taps, I('tap'), 'f64')), 'acc'), ...accumulate(real.ref('w'), terms.map(([v, e]) => [v, e(I(pos))] as const))]),
    ]),
  ];
  if (b !== RUNTIME_RULE && !BOUNDARY_RULES[b].foldsBack) return gather(at);
  // the padding: off positions before the axis (u = q - off), and m + k - 1 - off - n after it (u = n + q)
  const padded = (u: Expr): Stmt[] => [s.let(`${tag}u`, u, 'i32'), s.if(cmp.eq(source(b, I(`${tag}u`), n), at), gather(I(`${tag}u`)))];
  const folds = [
    s.for('q', 0, off, padded(int.sub(I('q'), off))),
    s.for('q', 0, int.sub(int.add(m, int.sub(k, 1)), int.add(off, n)), padded(int.add(n, I('q')))),
  ];
  return [...gather(at), ...(b === RUNTIME_RULE ? [s.if(ruleHas((r) => BOUNDARY_RULES[r].foldsBack), folds)] : folds)];
}

/** Pass 3: the vertical transpose of the partial maps into the rows buffer (image row r, map column j). */
function verticalTransposePass(b: GpuBoundary, gradY: boolean): Pass {
  const [j, r, p] = ['j', 'r', 'p'].map(I) as [Expr, Expr, Expr];
  const parts = partialsFor(gradY);
  return {
    name: 'vertical_transpose',
    doc: 'the partial maps through the transposed vertical window (tapsH), the fold-back of the padding gathered: image row r, map column j',
    index: ['j', 'r', 'p'],
    grid: [MW, H, NC],
    body: [
      ...zeros(parts.map((n) => `v_${n}`)),
      ...transposedGather(b, r, H, KH, MH, 'tapsH', parts.map((n) => [`v_${n}`, (i: Expr) => load(`g_${n}`, mapAt(p, i, j), 'acc')] as const), 'v'),
      ...parts.map((n, m) => s.store('rows', rowsAt(m, p, r, j), real.ref(`v_${n}`))),
    ],
  };
}

/**
 * The chain rule at one pixel, from the graph: the vjp of the moment products (momentProducts)
 * seeded with the transposed partials t_*, plus for the 3DGS loss |x - y| seeded with l1w =
 * (1 - lambda) / count (its derivative the sign, 0 at 0). Outputs d_x (and d_y).
 */
function chainRule(gradY: boolean, l1: boolean): Stmt[] {
  const { x, y, products: p } = momentProducts('xv', 'yv');
  // the order cpu-program.ts's chainRuleCode uses (its sums then read t_mu + 2 x t_xx + y t_xy)
  const seeds = ['t_mu_x', 't_mu_y', 't_xy', 't_xx', 't_yy'].map(variable);
  const outputs = [p.mu_x, p.mu_y, p.m_xy, p.m_xx, p.m_yy];
  if (l1) {
    outputs.push(abs(sub(x, y)));
    seeds.push(variable('l1w'));
  }
  const wrt = gradY ? [x, y] : [x];
  const d = vjp(outputs, seeds, wrt);
  const named: Array<readonly [string, Node]> = [['d_x', d[0]!]];
  if (gradY) named.push(['d_y', d[1]!]);
  return lowerScalar(named, new Map(), { prefix: 'cr' }).stmts;
}

/** Pass 4: the horizontal transpose of the rows buffer (a gather), fused with the chain rule; writes gradX (and gradY). */
function horizontalTransposePass(b: GpuBoundary, gradY: boolean, l1: boolean): Pass {
  const [c, r, p] = ['c', 'r', 'p'].map(I) as [Expr, Expr, Expr];
  const parts = partialsFor(gradY);
  const lambda = acc(f64('lambda'));
  return {
    name: 'horizontal_transpose',
    doc: 'the rows through the transposed horizontal window (tapsW), fold-back gathered, fused with the chain rule d/dx = W^T g_mu_x + 2 x W^T g_xx + y W^T g_xy' + (gradY ? ' (and d/dy)' : '') + (l1 ? ', plus (1 - lambda) sign(x - y) / count' : ''),
    index: ['c', 'r', 'p'],
    grid: [W, H, NC],
    body: [
      ...zeros(parts.map((n) => `t_${n}`)),
      ...transposedGather(b, c, W, KW, MW, 'tapsW', parts.map((n, m) => [`t_${n}`, (j: Expr) => load('rows', rowsAt(m, p, r, j), 'acc')] as const), 'h'),
      s.let('xv', acc(load('x', imageAt(p, r, c), 'real')), 'acc'),
      s.let('yv', acc(load('y', imageAt(p, r, c), 'real')), 'acc'),
      ...(l1 ? [s.let('l1w', real.div(real.sub(real.lit(1), lambda), acc(IMAGE)), 'acc')] : []),
      ...chainRule(gradY, l1),
      s.store('gradX', imageAt(p, r, c), real.cast('real', real.ref('d_x'))),
      ...(gradY ? [s.store('gradY', imageAt(p, r, c), real.cast('real', real.ref('d_y')))] : []),
    ],
  };
}

type BufferDecl = PassProgram['buffers'][number];
const buffer = (name: string, elem: ValueType, role: BufferDecl['role'], size: Expr, doc: string): BufferDecl => ({ name, elem, role, size, doc });

/**
 * The forward and backward pass programs of a family under a boundary rule and a schedule, and the
 * functions they call. Scalars: NC (planes, N C), H, W, MH, MW (mapSize), kh, kw, crop (i32); C1,
 * C2, c_n and the family's parameters (f64: Wang's alpha, beta, gamma; the 3DGS loss's lambda).
 * Buffers x, y (real), tapsH, tapsW, weight (omega per plane; f64).
 */
export function gpuPrograms(family: GpuFamily, options: GpuProgramOptions): GpuPrograms {
  const { boundary: b, gradY, schedule } = options;
  const f = familyGraphs(family);
  const parts = partialsFor(gradY);
  const store = schedule.partials === 'store';
  const runtime = b === RUNTIME_RULE;
  const named = runtime ? schedule.partials : `${b}_${schedule.partials}`;
  const under = runtime ? 'under the rule `rule`' : `under '${b}'`;
  const scalars: Array<PassProgram['scalars'][number]> = [
    ...(runtime ? [{ name: 'rule', type: 'rule' as const, doc: `the boundary rule: its index in ${BOUNDARIES.map((r, i) => `${i} ${r}`).join(', ')}` }] : []),
    { name: 'NC', type: 'i32', doc: 'planes: images x channels' },
    { name: 'H', type: 'i32', doc: 'image height' },
    { name: 'W', type: 'i32', doc: 'image width' },
    { name: 'MH', type: 'i32', doc: "map height (mapSize: H, or H - kh + 1 under 'valid')" },
    { name: 'MW', type: 'i32', doc: "map width (mapSize: W, or W - kw + 1 under 'valid')" },
    { name: 'kh', type: 'i32', doc: 'taps along H (odd)' },
    { name: 'kw', type: 'i32', doc: 'taps along W (odd)' },
    { name: 'crop', type: 'i32', doc: 'map pixels cropped from each side before the reduction' },
    { name: 'C1', type: 'f64' },
    { name: 'C2', type: 'f64' },
    { name: 'c_n', type: 'f64', doc: 'covariance normaliser NP/(NP-1), or 1' },
    ...f.params.map((name) => ({ name, type: 'f64' as const, doc: 'a parameter of the map' })),
    ...(f.l1 ? [{ name: 'lambda', type: 'f64' as const, doc: 'weight of (1 - SSIM) in (1 - lambda) L1 + lambda (1 - SSIM)' }] : []),
  ];
  const common = [
    buffer('x', 'real', 'input', IMAGE, 'the first image, NC x H x W'),
    buffer('y', 'real', 'input', IMAGE, 'the second image, NC x H x W'),
    buffer('tapsH', 'f64', 'input', KH, 'normalised window taps along H'),
    buffer('tapsW', 'f64', 'input', KW, 'normalised window taps along W'),
    buffer('weight', 'f64', 'input', NC, 'the reduction weight of each plane (omega, or planeOmega)'),
  ];
  const partialMaps = (role: BufferDecl['role']): BufferDecl[] => parts.map((n) => buffer(`g_${n}`, 'acc', role, MAP, `omega-weighted partial of the map with respect to ${n === 'xx' ? 'm_xx' : n === 'yy' ? 'm_yy' : n === 'xy' ? 'm_xy' : n} (zero outside the region)`));
  const rows = (components: number): BufferDecl => buffer('rows', 'acc', 'scratch', rowsSize(components), 'rows filtered along W (pass 1), or the partials transposed along H (pass 3): components x NC x H x MW');
  const forward: PassProgram = {
    name: `${family}_forward_${named}`,
    doc: `${family} ${under}: the value${store ? ` and the weighted partial maps the backward reads (${parts.length})` : ''}`,
    scalars,
    buffers: [
      ...common,
      buffer('value', 'acc', 'output', int.lit(1), f.l1 ? 'the loss' : 'the weighted sum of the map over the region'),
      buffer('planeSums', 'acc', 'output', NC, "each plane's unweighted sum of the map over the region"),
      ...(store ? partialMaps('output') : []),
      rows(5),
      buffer('smap', 'acc', 'scratch', MAP, 'the map, zero outside the region'),
      buffer('rowSums', 'acc', 'scratch', int.mul(NC, MH), "each map row's sum over the region's columns"),
      ...(f.l1 ? [buffer('l1Rows', 'acc', 'scratch', int.mul(NC, H), "each image row's sum of |x - y|"), buffer('l1Planes', 'acc', 'scratch', NC, "each plane's sum of |x - y|")] : []),
    ],
    passes: [horizontalPass(b), verticalPass(b, f, { value: true, partials: store ? parts : [] }), ...reductionPasses(f.l1)],
  };
  const backward: PassProgram = {
    name: `${family}_backward_${named}`,
    doc: `${family} ${under}: d/dx${gradY ? ' and d/dy' : ''}${store ? ' from the stored partial maps' : ', the moments and partials recomputed'}`,
    scalars,
    buffers: [
      ...common,
      ...(store ? partialMaps('input') : partialMaps('scratch')),
      buffer('gradX', 'real', 'output', IMAGE, 'd/dx, NC x H x W'),
      ...(gradY ? [buffer('gradY', 'real', 'output', IMAGE, 'd/dy, NC x H x W')] : []),
      rows(store ? parts.length : 5),
    ],
    passes: [
      ...(store ? [] : [horizontalPass(b), verticalPass(b, f, { value: false, partials: parts })]),
      verticalTransposePass(b, gradY),
      horizontalTransposePass(b, gradY, f.l1),
    ],
  };
  return { forward, backward, funcs: [runtime ? boundaryIndexFunction() : sourceFunction(b)], kept: store ? parts.map((n) => `g_${n}`) : [] };
}

/** A family's runtime parameters beside the KernelParams (Wang's exponents are in KernelParams already). */
export interface GpuFamilyValues {
  /** The 3DGS loss's lambda (by default its variant's, 0.2). */
  readonly lambda?: number;
}

/**
 * The host's side: the scalars and the small buffers (taps, the plane weights) of a program from the
 * kernels' parameters; MH and MW from mapSize, the one geometry rule. Spread into interpretProgram's
 * arguments (with x, y and the outputs).
 */
export function gpuArguments(family: GpuFamily, p: KernelParams, values: GpuFamilyValues = {}): Record<string, number | Float64Array> {
  const kh = p.tapsH.length, kw = p.tapsW.length;
  const { MH, MW } = mapSize(p.padding, p.H, p.W, kh, kw);
  if (MH < 1 || MW < 1) throw new Error(`gpuArguments: a ${kh} x ${kw} window leaves no map of ${p.H} x ${p.W} under '${p.padding}'`);
  const NC = p.N * p.C;
  const weight = p.planeOmega !== undefined ? Float64Array.from(p.planeOmega) : new Float64Array(NC).fill(p.omega);
  const args: Record<string, number | Float64Array> = { NC, H: p.H, W: p.W, MH, MW, kh, kw, crop: p.crop, C1: p.C1, C2: p.C2, c_n: p.c_n, tapsH: p.tapsH, tapsW: p.tapsW, weight };
  if (family === 'wang') for (const e of ['alpha', 'beta', 'gamma'] as const) args[e] = p[e] ?? familyDefault('wang', e);
  if (family === 'gs-loss') args.lambda = values.lambda ?? familyDefault('gsLoss', 'lambda');
  return args;
}
