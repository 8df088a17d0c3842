/**
 * The CPU schedule of a kernel family, as a kernel program (src/kernel): a value kernel and a
 * value-and-gradient kernel per storage type, generic or with the taps unrolled, and the gradient in
 * emulated float32 arithmetic. The algorithm is the family's map (the graph); the schedule (Halide's
 * split) is here; the printers (src/kernel/print-*.ts) spell it.
 *
 *   pass 1  horizontal correlation of x, y, x*x, y*y, x*y with tapsW (rows padded by the rule)
 *   pass 2  vertical correlation with tapsH, fused with the map (and its partials) and the sum
 *   pass 3  vertical transpose of the partial maps, then the padding rows folded back  (gradient only)
 *   pass 4  horizontal transpose, the padding columns folded back, fused with the chain rule
 *           d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy
 *
 * Every pass gathers (a dot product per output, accumulators in registers, one store). Taps are
 * symmetric (every window ssim-grad builds is), so passes pair mirrored samples. The boundary rule
 * is a run-time parameter that only builds the index tables (boundaryIndex, outside the inner
 * loops). Sums: a map row's block sums in column order, a plane's rows in row order, the planes in
 * order, so a band of rows computed on another thread combines to the same bits.
 */
import { mul, variable, vjp, type Node } from '../expr/index.js';
import { BOUNDARIES } from '../field/boundary.js';
import { arrayNameOf, precisionOf, type Precision } from '../field/precision.js';
import { cmp, int, length, load, present, real, s, type Expr, type Kernel, type Param, type Stmt } from '../kernel/ir.js';
import { lowerScalar, type LoweredCode } from '../kernel/scalar.js';
import { momentProducts, pointwiseSsim } from '../model/pointwise.js';
import type { MapGraph } from '../model/maps.js';
import type { KernelFamily, StorageSuffix } from './families.js';


/** What one kernel is built for: its arithmetic, the family's value name and scalar parameters. */
export interface Build {
  readonly arithmetic: Precision;
  readonly value: string;
  readonly name: string;
  readonly params: Readonly<Record<string, number>>;
  /** The family's pixel term (value, d/dx, d/dy over the locals xv, yv), or null. */
  readonly pixel: { readonly value: LoweredCode; readonly dx: LoweredCode; readonly dy: LoweredCode; readonly name: string } | null;
}

/** The pointwise graphs the kernels evaluate: the map, and its omega-weighted partials for the gradient. */
export function pointwiseOutputs(map: MapGraph): { value: Array<[string, Node]>; grad: Array<[string, Node]>; names: Map<Node, string> } {
  const p = pointwiseSsim();
  const omega = variable('omega');
  const names = new Map<Node, string>(p.named.map(([n, node]) => [node, n] as [Node, string]));
  const v = map.name;
  return {
    value: [[v, map.F]],
    grad: [
      [v, map.F],
      ['g_mu_x', mul(omega, map.dX.mu)],
      ['g_xx', mul(omega, map.dX.sq)],
      ['g_xy', mul(omega, map.dX.cross)],
      ['g_mu_y', mul(omega, map.dY.mu)],
      ['g_yy', mul(omega, map.dY.sq)],
    ],
    names,
  };
}

/**
 * The chain rule of pass 4 from the scalar graph: the vector-Jacobian product of the moment
 * products (x, y, x x, y y, x y) seeded with the transposed partials t_*, over the locals xv, yv.
 * The products go in as x, y, x y, x x, y y, so the sums read t_mu + 2 x t_xx + y t_xy left to right.
 */
export function chainRuleCode(): { dx: LoweredCode; dy: LoweredCode } {
  const { x, y, products: p } = momentProducts('xv', 'yv');
  const seeds = ['t_mu_x', 't_mu_y', 't_xy', 't_xx', 't_yy'].map(variable);
  const outputs = [p.mu_x, p.mu_y, p.m_xy, p.m_xx, p.m_yy];
  const [dx] = vjp(outputs, seeds, [x]);
  const [dy] = vjp(outputs, seeds, [y]);
  return { dx: lowerScalar([['d_x', dx!]], new Map(), { prefix: 'tx' }), dy: lowerScalar([['d_y', dy!]], new Map(), { prefix: 'ty' }) };
}

const i = int.ref;
const acc = (name: string): Expr => real.ref(name, 'acc');
const f64 = (name: string): Expr => real.ref(name, 'f64');
const ruleLit = (name: (typeof BOUNDARIES)[number]): Expr => ({ k: 'lit', type: 'rule', value: BOUNDARIES.indexOf(name) });
const callInt = (fn: string, ...args: Expr[]): Expr => ({ k: 'call', type: 'i32', fn, args });
const addAcc = (name: string, e: Expr): Stmt => s.set(name, real.add(acc(name), e));
const addF64 = (name: string, e: Expr): Stmt => s.set(name, real.add(f64(name), real.cast('f64', e)));
const at = (buf: string, index: Expr): Expr => load(buf, index, 'acc');

/**
 * One symmetric dot product per accumulator: acc = c * arr[center] + sum_{t < r} w_t (arr[a(t)] + arr[b(t)]).
 * Generic (k null): a loop over the run-time taps; unrolled: one expression, the taps in locals.
 */
export function symmetricDots(
  b: Build,
  k: number | null,
  axis: 'H' | 'W',
  terms: ReadonlyArray<readonly [acc: string, arr: string]>,
  center: Expr,
  a: (t: Expr) => Expr,
  z: (t: Expr) => Expr,
): Stmt[] {
  const c = f64(`c${axis}`);
  if (k === null) {
    return [
      ...terms.map(([name, arr]) => s.var(name, real.mul(c, at(arr, center)), 'acc')),
      s.for('t', 0, i(`r${axis}`), [
        s.let('w', load(`taps${axis}`, i('t'), 'f64')),
        s.let('a', a(i('t'))),
        s.let('b', z(i('t'))),
        ...terms.map(([name, arr]) => addAcc(name, real.mul(f64('w'), real.add(at(arr, i('a')), at(arr, i('b')))))),
      ]),
    ];
  }
  if (b.arithmetic === 'float32') throw new Error('symmetricDots: float32 arithmetic is built with loops only');
  const r = (k - 1) / 2;
  return terms.map(([name, arr]) => {
    let e = real.mul(c, at(arr, center));
    for (let t = 0; t < r; t++) e = real.add(e, real.mul(f64(`w${axis}${t}`), real.add(at(arr, a(int.lit(t))), at(arr, z(int.lit(t))))));
    return s.var(name, e, 'acc');
  });
}

/** The five plane names of a prefix: x, y, xx, yy, xy. */
const five = (prefix: string): string[] => ['x', 'y', 'xx', 'yy', 'xy'].map((m) => `${prefix}_${m}`);

/** Shared set-up of both kernels: sizes, index tables, pass-1 buffers, taps in locals. */
export function setup(k: number | null): Stmt[] {
  const stmts: Stmt[] = [s.let('kh', length('tapsH')), s.let('kw', length('tapsW'))];
  if (k !== null) stmts.push(s.fail(cmp.or(cmp.ne(i('kh'), k), cmp.ne(i('kw'), k)), `this kernel is unrolled for ${k} x ${k} windows`));
  stmts.push(
    s.comment("the map has the image size, or under 'valid' one value per window that fits (mapLength; no padding:\nthe index tables then never read outside, and nothing is folded back)"),
    s.let('MH', callInt('mapLength', { k: 'ref', type: 'rule', name: 'padding' }, i('H'), i('kh'))),
    s.let('MW', callInt('mapLength', { k: 'ref', type: 'rule', name: 'padding' }, i('W'), i('kw'))),
    s.let('valid', cmp.eq({ k: 'ref', type: 'rule', name: 'padding' }, ruleLit('valid'))),
    s.let('offH', int.select({ k: 'ref', type: 'bool', name: 'valid' }, 0, int.shr(int.sub(i('kh'), 1), 1))),
    s.let('offW', int.select({ k: 'ref', type: 'bool', name: 'valid' }, 0, int.shr(int.sub(i('kw'), 1), 1))),
    s.comment('padded rows and columns: MW + kw - 1 samples per row, MH + kh - 1 rows; boundaryIndex(q - off) is what each reads'),
    s.let('PW', int.sub(int.add(i('MW'), i('kw')), 1)),
    s.comment('row stride of the planes: MW plus one cache line, so that the kh rows a vertical tap reads do\nnot all fall in the same L1 sets (a power-of-two width would alias them)'),
    s.let('SW', int.add(i('MW'), 8)),
    s.let('PH', int.sub(int.add(i('MH'), i('kh')), 1)),
    s.comment('the column each padded sample reads, and the rows each vertical tap of a map row reads (-1: a zero)'),
    s.alloc('colSource', 'i32', i('PW')),
    s.for('q', 0, i('PW'), [s.store('colSource', i('q'), callInt('boundaryIndex', int.sub(i('q'), i('offW')), i('W'), { k: 'ref', type: 'rule', name: 'padding' }))]),
    s.alloc('rowSource', 'i32', int.mul(i('MH'), i('kh'))),
    s.for('r', 0, i('MH'), [
      s.for('u', 0, i('kh'), [s.store('rowSource', int.add(int.mul(i('r'), i('kh')), i('u')), callInt('boundaryIndex', int.sub(int.add(i('r'), i('u')), i('offH')), i('H'), { k: 'ref', type: 'rule', name: 'padding' }))]),
    ]),
    s.comment('the horizontally filtered planes (pass 1), reused for the vertical transpose (pass 3): in the\narithmetic, whatever the storage, since var = m_xx - mu_x^2 cancels; the storage type is that of inputs and outputs.\nOne more row, kept zero: what a window reads outside the image under zero padding.'),
    s.let('rows', int.add(int.max(i('H'), i('PH')), 1)),
    s.let('zeroRow', int.sub(i('rows'), 1)),
    ...five('h').map((n) => s.alloc(n, 'acc', int.mul(i('rows'), i('SW')))),
    s.comment('the offset of the pass-1 row each vertical tap reads, per map row (the zero row for a zero)'),
    s.alloc('rowOffset', 'i32', int.mul(i('MH'), i('kh'))),
    s.for('q', 0, int.mul(i('MH'), i('kh')), [
      s.store('rowOffset', i('q'), int.mul(int.select(cmp.lt(load('rowSource', i('q'), 'i32'), 0), i('zeroRow'), load('rowSource', i('q'), 'i32')), i('SW'))),
    ]),
    ...five('p').map((n) => s.alloc(n, 'acc', i('PW'))),
    s.comment('the taps are symmetric (every window is), so mirrored samples share one multiply'),
    s.let('rH', int.shr(int.sub(i('kh'), 1), 1)),
    s.let('rW', int.shr(int.sub(i('kw'), 1), 1)),
    s.let('cH', load('tapsH', i('rH'), 'f64')),
    s.let('cW', load('tapsW', i('rW'), 'f64')),
    s.comment('column block of the vertical passes: kh rows x 5 planes x BLOCK float64 fit a 32 KiB L1'),
    s.let('BLOCK', int.lit(64)),
    s.comment("each map row's sum of the map over the region, block after block; a plane's sum adds the rows in order,\nso a band of rows computed elsewhere (worker threads) combines to the same bits"),
    s.alloc('rowSum', 'f64', i('MH')),
  );
  if (k !== null) {
    const r = (k - 1) / 2;
    for (const axis of ['H', 'W']) for (let t = 0; t < r; t++) stmts.push(s.let(`w${axis}${t}`, load(`taps${axis}`, t, 'f64')));
  }
  return stmts;
}

function pass1(b: Build, k: number | null, pixelSum: boolean): Stmt[] {
  const xv = real.ref('xv', 'real'), yv = real.ref('yv', 'real');
  const zero = real.lit(0, 'real');
  return [
    s.comment('pass 1: pad row i of x and y (and their products) by the boundary rule, correlate with tapsW (derivation eq. 1-2)'),
    s.for('i', 0, i('H'), [
      s.let('row', int.add(i('base'), int.mul(i('i'), i('W')))),
      s.for('q', 0, i('PW'), [
        s.let('s', load('colSource', i('q'), 'i32')),
        s.let('xv', real.select(cmp.lt(i('s'), 0), zero, load('x', int.add(i('row'), i('s')), 'real'))),
        s.let('yv', real.select(cmp.lt(i('s'), 0), zero, load('y', int.add(i('row'), i('s')), 'real'))),
        s.store('p_x', i('q'), xv),
        s.store('p_y', i('q'), yv),
        s.store('p_xx', i('q'), real.mul(xv, xv)),
        s.store('p_yy', i('q'), real.mul(yv, yv)),
        s.store('p_xy', i('q'), real.mul(xv, yv)),
      ]),
      ...(pixelSum && b.pixel !== null
        ? [
            s.comment(`the pixel term ${b.pixel.name} of row i, summed in column order`),
            s.for('j', 0, i('W'), [
              s.let('xv', load('x', int.add(i('row'), i('j')), 'real')),
              s.let('yv', load('y', int.add(i('row'), i('j')), 'real')),
              ...b.pixel.value.stmts,
              addF64('pixelSum', acc(b.pixel.value.outputNames[0]!)),
            ]),
          ]
        : []),
      s.let('o', int.mul(i('i'), i('SW'))),
      s.for('j', 0, i('MW'), [
        ...symmetricDots(
          b,
          k,
          'W',
          five('s').map((n, m) => [n, five('p')[m]!] as const),
          k === null ? int.add(i('j'), i('rW')) : int.add(i('j'), (k - 1) / 2),
          (t) => int.add(i('j'), t),
          (t) => (k === null ? int.sub(int.sub(int.add(i('j'), i('kw')), 1), t) : int.add(i('j'), int.sub(k - 1, t))),
        ),
        ...five('h').map((n, m) => s.store(n, int.add(i('o'), i('j')), acc(five('s')[m]!))),
      ]),
    ]),
  ];
}

/** A plane's sum: its map rows' sums added in row order, weighted into the total; reported per plane and per row when asked. */
export function planeTotal(b: Build): Stmt[] {
  return [
    s.var('planeSum', real.lit(0, 'f64')),
    s.for('i', i('crop'), int.sub(i('MH'), i('crop')), [addF64('planeSum', load('rowSum', i('i'), 'f64'))]),
    addF64('total', real.mul(f64('omega'), f64('planeSum'))),
    ...(b.pixel === null ? [] : [addF64('total', real.mul(f64('pixelOmega'), f64('pixelSum')))]),
    s.if(present('planeSums'), [s.store('planeSums', i('plane'), f64('planeSum'))]),
    s.if(present('rowSums'), [s.copy('rowSums', int.mul(i('plane'), i('MH')), 'rowSum', 0, i('MH'))]),
  ];
}

/** Row offsets of the vertical taps of map row i, in locals when unrolled. */
export function pass2Rows(k: number | null): Stmt[] {
  const ik = s.let('ik', int.mul(i('i'), i('kh')));
  if (k === null) return [ik];
  return [ik, ...Array.from({ length: k }, (_, t) => s.let(`o${t}`, load('rowOffset', int.add(i('ik'), t), 'i32')))];
}

/** Pass 2's inner body: the five window moments at map pixel (i, j), from the pass-1 planes. */
function moments(b: Build, k: number | null): Stmt[] {
  return verticalDots(b, k, (['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const).map((n, m) => [n, five('h')[m]!] as const));
}

/** Pass 2's vertical dot products at map pixel (i, j): each accumulator from its pass-1 plane (after pass2Rows). */
export function verticalDots(b: Build, k: number | null, terms: ReadonlyArray<readonly [acc: string, plane: string]>): Stmt[] {
  const row = (t: Expr): Expr => load('rowOffset', int.add(i('ik'), t), 'i32');
  if (k === null) {
    return symmetricDots(b, null, 'H', terms, int.add(row(i('rH')), i('j')), (t) => int.add(row(t), i('j')), (t) => int.add(row(int.sub(int.sub(i('kh'), 1), t)), i('j')));
  }
  const r = (k - 1) / 2;
  const local = (t: Expr): string => `o${t.k === 'lit' ? t.value : '?'}`;
  return symmetricDots(b, k, 'H', terms, int.add(i(`o${r}`), i('j')), (t) => int.add(i(local(t)), i('j')), (t) => int.add(i(local(int.sub(k - 1, t))), i('j')));
}

/** The plane loop's opening: the weight of this plane, pass 1, and the zeroed row sums. */
function planeOpening(b: Build, k: number | null, pixelSum: boolean): Stmt[] {
  return [
    ...(b.pixel === null ? [] : [s.var('pixelSum', real.lit(0, 'f64'))]),
    s.let('base', int.mul(int.mul(i('plane'), i('H')), i('W'))),
    s.comment("the reduction weight of this plane's map pixels (one for all, or one per image and channel)"),
    s.let('omega', real.select(cmp.not(present('planeOmega')), f64('omegaAll'), load('planeOmega', i('plane'), 'f64'))),
    s.fill('rowSum', 0, i('MH'), real.lit(0, 'f64')),
    ...pass1(b, k, pixelSum),
  ];
}

/** Pass 2's column blocks and map rows around `inner` (which ends with the row's block sum). */
function pass2(k: number | null, comment: string, inner: Stmt[]): Stmt[] {
  return [
    s.comment(`pass 2: vertical correlation ${comment},\nin column blocks of BLOCK so that the kh rows of the five planes a block reads stay in L1`),
    s.forStep('jb', i('crop'), int.sub(i('MW'), i('crop')), i('BLOCK'), [
      s.let('je', int.min(int.add(i('jb'), i('BLOCK')), int.sub(i('MW'), i('crop')))),
      s.for('i', i('crop'), int.sub(i('MH'), i('crop')), [...pass2Rows(k), ...inner, s.store('rowSum', i('i'), real.add(load('rowSum', i('i'), 'f64'), f64('blockSum')))]),
    ]),
  ];
}

/** The pointwise code with the graph's variables read from the locals (omega: this plane's weight). */
function pointwise(outputs: ReadonlyArray<readonly [string, Node]>, names: ReadonlyMap<Node, string>): LoweredCode {
  return lowerScalar(outputs, names);
}

export const kernelParams = (b: Build): Param => ({
  k: 'record',
  name: 'p',
  typeName: 'KernelParams',
  fields: [
    ...['N', 'C', 'H', 'W'].map((n): Param => ({ k: 'scalar', name: n, type: 'i32' })),
    { k: 'buffer', name: 'tapsH', elem: 'f64', access: 'read' },
    { k: 'buffer', name: 'tapsW', elem: 'f64', access: 'read' },
    ...['C1', 'C2', 'c_n'].map((n): Param => ({ k: 'scalar', name: n, type: 'f64' })),
    { k: 'scalar', name: 'crop', type: 'i32' },
    { k: 'scalar', name: 'omega', local: 'omegaAll', type: 'f64' },
    { k: 'buffer', name: 'planeOmega', elem: 'f64', access: 'read', optional: 'undefined' },
    { k: 'buffer', name: 'planeSums', elem: 'f64', access: 'write', optional: 'undefined' },
    { k: 'buffer', name: 'rowSums', elem: 'f64', access: 'write', optional: 'undefined' },
    { k: 'scalar', name: 'padding', type: 'rule' },
    ...(b.pixel === null ? [] : [{ k: 'scalar', name: 'pixelOmega', type: 'f64', default: 0 } as const]),
    ...Object.entries(b.params).map(([n, d]): Param => ({ k: 'scalar', name: n, type: 'f64', default: d })),
  ],
});

export const images: Param[] = [
  { k: 'buffer', name: 'x', elem: 'real', access: 'read' },
  { k: 'buffer', name: 'y', elem: 'real', access: 'read' },
];

/** The value kernel: passes 1-2, returning the omega-weighted sum of the map over the region. */
function valueKernel(b: Build, storage: StorageSuffix, k: number | null, code: LoweredCode): Kernel {
  const array = arrayNameOf(precisionOf(storage));
  return {
    name: `${b.name}Value${storage}${k === null ? '' : `K${k}`}`,
    doc: `The omega-weighted sum of ${b.value} over the region of the map of x and y (${array} storage),\nboundary rule p.padding${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}. Passes 1-2; 5 kw + 5 kh multiply-adds and\n${code.flops} flops of ${b.value} per pixel.`,
    params: [...images, kernelParams(b)],
    returns: 'f64',
    body: [
      ...setup(k),
      s.var('total', real.lit(0, 'f64')),
      s.for('plane', 0, int.mul(i('N'), i('C')), [
        ...planeOpening(b, k, true),
        ...pass2(k, 'with tapsH (eq. 1-2), fused with S (eq. 3-10) and the mean (eq. 11)', [
          s.var('blockSum', real.lit(0, 'f64')),
          s.for('j', i('jb'), i('je'), [...moments(b, k), ...code.stmts, addF64('blockSum', acc(b.value))]),
        ]),
        ...planeTotal(b),
      ]),
      s.return(f64('total')),
    ],
  };
}

/**
 * The indexing of passes 3-4 (the transposes): padded row rho gathers the partial maps' rows
 * rho - t (+ kh - 1 in the zero-bordered maps), from index tables for any window (`above`,
 * `below`) or unrolled lets for k taps; pass 4 the same along columns. Shared by the gradient's
 * schedule and the HVP's (src/emit/cpu-derivatives.ts).
 */
export function transposeIndexing(k: number | null) {
  const r = k === null ? 0 : (k - 1) / 2;
  const SW = i('SW');
  const rowAt = (e: Expr): Expr => int.mul(e, SW);
  const p3Rows =
    k === null
      ? [s.for('t', 0, i('rH'), [s.store('above', i('t'), rowAt(int.add(int.sub(i('rho'), i('t')), int.sub(i('kh'), 1)))), s.store('below', i('t'), rowAt(int.add(i('rho'), i('t'))))])]
      : Array.from({ length: r }, (_, t) => [s.let(`u${t}`, rowAt(int.add(i('rho'), k - 1 - t))), s.let(`v${t}`, rowAt(int.add(i('rho'), t)))]).flat();
  const lit = (t: Expr): number => (t.k === 'lit' ? t.value : NaN);
  const p3a = (t: Expr): Expr => (k === null ? int.add(load('above', t, 'i32'), i('j')) : int.add(i(`u${lit(t)}`), i('j')));
  const p3b = (t: Expr): Expr => (k === null ? int.add(load('below', t, 'i32'), i('j')) : int.add(i(`v${lit(t)}`), i('j')));
  const p3center = int.add(i('mid'), i('j'));
  const p4center = k === null ? int.sub(int.sub(int.add(i('q'), i('kw')), 1), i('rW')) : int.add(i('q'), r);
  const p4a = (t: Expr): Expr => (k === null ? int.sub(int.add(int.sub(i('q'), t), i('kw')), 1) : int.add(i('q'), int.sub(k - 1, t)));
  const p4b = (t: Expr): Expr => int.add(i('q'), t);
  return { SW, rowAt, p3Rows, p3a, p3b, p3center, p4center, p4a, p4b };
}

/** The value-and-gradient kernel: passes 1-4. */
function gradKernel(b: Build, storage: StorageSuffix, k: number | null, code: LoweredCode, codeX: LoweredCode): Kernel {
  const array = arrayNameOf(precisionOf(storage));
  const chain = chainRuleCode();
  const { SW, rowAt, p3Rows, p3a, p3b, p3center, p4center, p4a, p4b } = transposeIndexing(k);
  const withY = { k: 'ref', type: 'bool', name: 'withY' } as const;
  const gStore = (names: string[]): Stmt[] => names.map((n) => s.store(`${n}s`, int.add(i('o'), i('j')), acc(n)));
  const fold = (names: Array<[string, string]>, to: Expr, from: Expr): Stmt[] => names.map(([t]) => s.store(t, to, real.add(at(t, to), at(t, from))));
  return {
    name: `${b.name}Grad${storage}${k === null ? '' : `K${k}`}${b.arithmetic === 'float32' ? 'Arith' : ''}`,
    doc: `The omega-weighted sum of ${b.value} over the region of the map of x and y, and its gradient (${array} storage),\nboundary rule p.padding${k === null ? '' : `, ${k} x ${k} window (taps unrolled)`}: returns the value, writes d/dx into out.gradX and, when given, d/dy into out.gradY (each\nN x C x H x W). Passes 1-4; 10 kw + 10 kh multiply-adds per pixel (8 kw + 8 kh for d/dx alone)\nand ${code.flops} flops of ${b.value} and its partials.`,
    params: [
      ...images,
      kernelParams(b),
      {
        k: 'record',
        name: 'out',
        typeName: 'GradientOutputs<{real}>',
        fields: [
          { k: 'buffer', name: 'gradX', elem: 'real', access: 'write' },
          { k: 'buffer', name: 'gradY', elem: 'real', access: 'write', optional: 'null' },
        ],
      },
    ],
    returns: 'f64',
    body: [
      ...setup(k),
      s.let('withY', present('gradY')),
      s.comment('pass-2 output: the weighted partial maps g = omega dS/d(moment), zero outside the region, with\nkh - 1 zero rows above and below (so the vertical transpose needs no bounds: map row i is row i + kh - 1);\nin the arithmetic whatever the storage: the three chain-rule terms cancel, and would amplify float32 rounding'),
      s.let('GH', int.add(i('MH'), int.mul(2, int.sub(i('kh'), 1)))),
      ...['g_mu_xs', 'g_xxs', 'g_xys'].map((n) => s.alloc(n, 'acc', int.mul(i('GH'), SW))),
      ...['g_mu_ys', 'g_yys'].map((n) => s.alloc(n, 'acc', int.select(withY, int.mul(i('GH'), SW), 0))),
      s.alloc('above', 'i32', i('kh')),
      s.alloc('below', 'i32', i('kh')),
      s.comment('pass-4 scratch: each transposed row copied between kw - 1 zeros, and the gathered padded row'),
      s.let('EW', int.add(i('MW'), int.mul(2, int.sub(i('kw'), 1)))),
      ...['e_mu_x', 'e_xx', 'e_xy', 'e_mu_y', 'e_yy'].map((n) => s.alloc(n, 'acc', i('EW'))),
      ...['a_mu_x', 'a_xx', 'a_xy', 'a_mu_y', 'a_yy'].map((n) => s.alloc(n, 'acc', i('PW'))),
      s.var('total', real.lit(0, 'f64')),
      s.for('plane', 0, int.mul(i('N'), i('C')), [
        ...planeOpening(b, k, false),
        ...pass2(k, '(eq. 1-2) fused with S (eq. 3-10) and its weighted partials (eq. 12-17)', [
          s.let('o', rowAt(int.add(i('i'), int.sub(i('kh'), 1)))),
          s.var('blockSum', real.lit(0, 'f64')),
          s.if(
            withY,
            [s.for('j', i('jb'), i('je'), [...moments(b, k), ...code.stmts, addF64('blockSum', acc(b.value)), ...gStore(['g_mu_x', 'g_xx', 'g_xy', 'g_mu_y', 'g_yy'])])],
            [s.comment("d/dx alone: the partials with respect to y's moments are not computed"), s.for('j', i('jb'), i('je'), [...moments(b, k), ...codeX.stmts, addF64('blockSum', acc(b.value)), ...gStore(['g_mu_x', 'g_xx', 'g_xy'])])],
          ),
        ]),
        s.comment('pass 3: vertical transpose (eq. 18). Padded row rho gathers sum_t tapsH[t] g[rho - t] (mirrored taps\npaired); then the rows of the padding are folded back onto the rows they were read from (the\nboundary rule\'s transpose). Padded row rho of the result lives in row rho of the pass-1 planes.'),
        s.forStep('jb', 0, i('MW'), i('BLOCK'), [
          s.let('je', int.min(int.add(i('jb'), i('BLOCK')), i('MW'))),
          s.for('rho', 0, i('PH'), [
            s.let('o', rowAt(i('rho'))),
            s.let('mid', rowAt(int.add(i('rho'), i('rH')))),
            ...p3Rows,
            s.for('j', i('jb'), i('je'), [
              ...symmetricDots(b, k, 'H', [['s_mu_x', 'g_mu_xs'], ['s_xx', 'g_xxs'], ['s_xy', 'g_xys']], p3center, p3a, p3b),
              s.store('h_x', int.add(i('o'), i('j')), acc('s_mu_x')),
              s.store('h_xx', int.add(i('o'), i('j')), acc('s_xx')),
              s.store('h_xy', int.add(i('o'), i('j')), acc('s_xy')),
            ]),
            s.if(withY, [
              s.for('j', i('jb'), i('je'), [
                ...symmetricDots(b, k, 'H', [['s_mu_y', 'g_mu_ys'], ['s_yy', 'g_yys']], p3center, p3a, p3b),
                s.store('h_y', int.add(i('o'), i('j')), acc('s_mu_y')),
                s.store('h_yy', int.add(i('o'), i('j')), acc('s_yy')),
              ]),
            ]),
          ]),
        ]),
        s.for('rho', 0, i('PH'), [
          s.if(cmp.and(cmp.ge(i('rho'), i('offH')), cmp.lt(i('rho'), int.add(i('offH'), i('H')))), [s.continue()]),
          s.let('s', callInt('boundaryIndex', int.sub(i('rho'), i('offH')), i('H'), { k: 'ref', type: 'rule', name: 'padding' })),
          s.if(cmp.lt(i('s'), 0), [s.continue()]),
          s.let('from', rowAt(i('rho'))),
          s.let('to', rowAt(int.add(i('s'), i('offH')))),
          s.for('j', 0, i('MW'), [
            ...fold([['h_x', ''], ['h_xx', ''], ['h_xy', '']], int.add(i('to'), i('j')), int.add(i('from'), i('j'))),
            s.if(withY, fold([['h_y', ''], ['h_yy', '']], int.add(i('to'), i('j')), int.add(i('from'), i('j')))),
          ]),
        ]),
        s.comment("pass 4: horizontal transpose (eq. 18; gather into a padded row, fold the padding back), fused with the\nchain rule d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy (eq. 19; eq. 20 for d/dy): the vjp of the\nmoment products x, y, x x, y y, x y seeded with the transposed partials t_* (momentProducts)"),
        s.for('i', 0, i('H'), [
          s.let('o', rowAt(int.add(i('i'), i('offH')))),
          s.copy('e_mu_x', int.sub(i('kw'), 1), 'h_x', i('o'), i('MW')),
          s.copy('e_xx', int.sub(i('kw'), 1), 'h_xx', i('o'), i('MW')),
          s.copy('e_xy', int.sub(i('kw'), 1), 'h_xy', i('o'), i('MW')),
          s.if(withY, [s.copy('e_mu_y', int.sub(i('kw'), 1), 'h_y', i('o'), i('MW')), s.copy('e_yy', int.sub(i('kw'), 1), 'h_yy', i('o'), i('MW'))]),
          s.for('q', 0, i('PW'), [
            ...symmetricDots(b, k, 'W', [['s_mu_x', 'e_mu_x'], ['s_xx', 'e_xx'], ['s_xy', 'e_xy']], p4center, p4a, p4b),
            s.store('a_mu_x', i('q'), acc('s_mu_x')),
            s.store('a_xx', i('q'), acc('s_xx')),
            s.store('a_xy', i('q'), acc('s_xy')),
          ]),
          s.if(withY, [
            s.for('q', 0, i('PW'), [
              ...symmetricDots(b, k, 'W', [['s_mu_y', 'e_mu_y'], ['s_yy', 'e_yy']], p4center, p4a, p4b),
              s.store('a_mu_y', i('q'), acc('s_mu_y')),
              s.store('a_yy', i('q'), acc('s_yy')),
            ]),
          ]),
          s.for('q', 0, i('PW'), [
            s.if(cmp.and(cmp.ge(i('q'), i('offW')), cmp.lt(i('q'), int.add(i('offW'), i('W')))), [s.continue()]),
            s.let('s', load('colSource', i('q'), 'i32')),
            s.if(cmp.lt(i('s'), 0), [s.continue()]),
            ...fold([['a_mu_x', ''], ['a_xx', ''], ['a_xy', ''], ['a_mu_y', ''], ['a_yy', '']], int.add(i('s'), i('offW')), i('q')),
          ]),
          s.let('row', int.add(i('base'), int.mul(i('i'), i('W')))),
          s.for('j', 0, i('W'), [
            s.let('xv', load('x', int.add(i('row'), i('j')), 'real')),
            s.let('yv', load('y', int.add(i('row'), i('j')), 'real')),
            s.let('q', int.add(i('j'), i('offW'))),
            s.let('t_mu_x', at('a_mu_x', i('q'))),
            s.let('t_xx', at('a_xx', i('q'))),
            s.let('t_xy', at('a_xy', i('q'))),
            ...chain.dx.stmts,
            ...pixelLast(b),
            s.store('gradX', int.add(i('row'), i('j')), b.pixel === null ? acc('d_x') : real.add(acc('d_x'), real.mul(f64('pixelOmega'), acc(b.pixel.dx.outputNames[0]!)))),
            s.if(withY, [
              s.let('t_mu_y', at('a_mu_y', i('q'))),
              s.let('t_yy', at('a_yy', i('q'))),
              ...chain.dy.stmts,
              ...(b.pixel === null ? [] : b.pixel.dy.stmts),
              s.store('gradY', int.add(i('row'), i('j')), b.pixel === null ? acc('d_y') : real.add(acc('d_y'), real.mul(f64('pixelOmega'), acc(b.pixel.dy.outputNames[0]!)))),
            ]),
          ]),
        ]),
        ...planeTotal(b),
      ]),
      s.return(f64('total')),
    ],
  };
}

/** Pass 4's pixel term, where the pixels are read anyway: its value into the plane's pixel sum, its d/dx. */
function pixelLast(b: Build): Stmt[] {
  if (b.pixel === null) return [];
  return [...b.pixel.value.stmts, addF64('pixelSum', acc(b.pixel.value.outputNames[0]!)), ...b.pixel.dx.stmts];
}

/** The kernel names of a family at one window size (null: generic), by storage. */
export function kernelNames(family: KernelFamily, k: number | null, st: StorageSuffix): { value: string; grad: string } {
  const size = k === null ? '' : `K${k}`;
  return { value: `${family.name}Value${st}${size}`, grad: `${family.name}Grad${st}${size}` };
}

/** One kernel of a family's CPU program, with the storage it is printed for. */
export interface CpuKernel {
  readonly kernel: Kernel;
  readonly storage: Precision;
  readonly arithmetic: Precision;
}

/**
 * A family's CPU kernels: value and value-and-gradient for each storage type, generic and unrolled
 * for each window size, then the emulated float32 gradient if the family asks for it.
 */
export function cpuProgram(family: KernelFamily): { kernels: CpuKernel[]; flops: { value: number; grad: number } } {
  const graph = family.map();
  const g = pointwiseOutputs(graph);
  const value = pointwise(g.value, g.names);
  const grad = pointwise(g.grad, g.names);
  const gradX = pointwise(g.grad.slice(0, 4), g.names);
  const term = family.pixel?.();
  const pixel =
    term === undefined
      ? null
      : {
          name: term.name,
          value: lowerScalar([[`p_${term.name}`, term.F]], new Map(), { prefix: 'tp' }),
          dx: lowerScalar([[`dp_x`, term.dX]], new Map(), { prefix: 'tpx' }),
          dy: lowerScalar([[`dp_y`, term.dY]], new Map(), { prefix: 'tpy' }),
        };
  const b: Build = { arithmetic: 'float64', value: graph.name, name: family.name, params: family.params, pixel };
  const kernels: CpuKernel[] = [];
  for (const k of [null, ...family.unrolled]) {
    for (const st of family.storages) {
      const storage = precisionOf(st);
      kernels.push({ kernel: valueKernel(b, st, k, value), storage, arithmetic: 'float64' });
      kernels.push({ kernel: gradKernel(b, st, k, grad, gradX), storage, arithmetic: 'float64' });
    }
  }
  if (family.f32Arith) kernels.push({ kernel: gradKernel({ ...b, arithmetic: 'float32' }, 'F32', null, grad, gradX), storage: 'float32', arithmetic: 'float32' });
  return { kernels, flops: { value: value.flops, grad: grad.flops } };
}
