/**
 * The CPU schedules of forward mode and second order, as kernel programs (src/kernel), in the style
 * of cpu-program.ts (whose set-up, dot products and sums they share): a JVP kernel and an HVP kernel
 * per storage type, generic or with the taps unrolled, for a family without a pixel term (plain SSIM's).
 *
 * JVP, 2 passes (the value kernel's, on ten planes instead of five):
 *   pass 1  horizontal correlation of the products x, y, x x, y y, x y and of their tangents
 *           dx, dy, 2 x dx, 2 y dy, x dy + y dx (the products' JVP, from the scalar graph)
 *   pass 2  vertical correlation, fused with the map F and its tangent dF = sum_m dF/dm dm (the map's
 *           partials times the tangent moments, per pixel) and the two sums; the map and its tangent
 *           stored at every window position when asked
 * HVP (forward over reverse: the tangent of every quantity the gradient kernel computes), 4 passes:
 *   pass 1-2  as the JVP, fused with the weighted partials g = omega dF/dm and their tangents
 *             dg = omega sum_k d^2F/(dm dk) dk (the second partials times the tangent moments: symbolic
 *             forward mode, src/expr jvp, over the first partials' graph)
 *   pass 3-4  the transposes of g and dg (the gradient kernel's, on twice the maps), fused with the
 *             chain rule and its tangent: d/dx = W^T g_mu + 2 x W^T g_xx + y W^T g_xy, and
 *             H v = W^T dg_mu + 2 v_x W^T g_xx + 2 x W^T dg_xx + v_y W^T g_xy + y W^T dg_xy
 *             (the vjp of the moment products, differentiated in the direction of x, y and the seeds)
 * The per-pixel code is the scalar graph's (src/expr: the first partials by reverse mode, their
 * tangents by forward mode), lowered.
 */
import { jvp, mul, variable, vjp, type Node } from '../expr/index.js';
import { arrayNameOf, precisionOf, type Precision } from '../field/precision.js';
import { cmp, int, load, present, real, s, type Expr, type Kernel, type Param, type Stmt } from '../kernel/ir.js';
import { lowerScalar, type LoweredCode } from '../kernel/scalar.js';
import type { MapGraph } from '../model/maps.js';
import { momentProducts, pointwiseSsim } from '../model/pointwise.js';
import { images, kernelParams, pass2Rows, planeTotal, pointwiseOutputs, setup, symmetricDots, transposeIndexing, verticalDots, type Build } from './cpu-program.js';
import { KERNEL_FAMILIES, type KernelFamily, type StorageSuffix } from './families.js';

const i = int.ref;
const acc = (name: string): Expr => real.ref(name, 'acc');
const f64 = (name: string): Expr => real.ref(name, 'f64');
const bool = (name: string): Expr => ({ k: 'ref', type: 'bool', name });
const rule: Expr = { k: 'ref', type: 'rule', name: 'padding' };
const callInt = (fn: string, ...args: Expr[]): Expr => ({ k: 'call', type: 'i32', fn, args });
const addF64 = (name: string, e: Expr): Stmt => s.set(name, real.add(f64(name), real.cast('f64', e)));
const at = (buf: string, index: Expr): Expr => load(buf, index, 'acc');

/** The five moments (as pointwiseSsim names them), each with its tangent's name and its pass-1 planes. */
const MOMENTS = [
  { m: 'mu_x', t: 'tmu_x', plane: 'x' },
  { m: 'mu_y', t: 'tmu_y', plane: 'y' },
  { m: 'm_xx', t: 'tm_xx', plane: 'xx' },
  { m: 'm_yy', t: 'tm_yy', plane: 'yy' },
  { m: 'm_xy', t: 'tm_xy', plane: 'xy' },
] as const;
type Moment = (typeof MOMENTS)[number]['m'];

/** A map's first partials by moment (the graph's, shared with the gradient kernels). */
function partials(map: MapGraph): Record<Moment, Node> {
  return { mu_x: map.dX.mu, m_xx: map.dX.sq, m_xy: map.dX.cross, mu_y: map.dY.mu, m_yy: map.dY.sq };
}

/**
 * The tangents of the graphs fs in the direction of the moments' tangents tm_* (symbolic forward
 * mode over their shared DAG: d f = sum_m df/dm tm, every intermediate's tangent shared).
 */
function tangentsOf(fs: readonly Node[]): Node[] {
  const { inputs } = pointwiseSsim();
  return jvp(fs, MOMENTS.map(({ m }) => inputs[m]), MOMENTS.map(({ t }) => variable(t)));
}

/**
 * The per-pixel graphs of the two kernels. JVP: F and dF. HVP: F, the weighted partials g_* and
 * their tangents dg_* = omega sum_k d^2F / (d m d k) t_k, for x's moments (and y's).
 */
export function derivativeOutputs(map: MapGraph): { jvp: Array<[string, Node]>; hvpX: Array<[string, Node]>; hvpBoth: Array<[string, Node]>; names: Map<Node, string> } {
  const { names } = pointwiseOutputs(map);
  const omega = variable('omega');
  const d = partials(map);
  // the second partials applied to the tangent moments: the partials' tangents, by forward mode over their graph
  const order: Moment[] = ['mu_x', 'm_xx', 'm_xy', 'mu_y', 'm_yy'];
  const dd = tangentsOf(order.map((m) => d[m]));
  const g = (name: string, m: Moment): Array<[string, Node]> => [
    [`g_${name}`, mul(omega, d[m])],
    [`dg_${name}`, mul(omega, dd[order.indexOf(m)]!)],
  ];
  const x = [...g('mu_x', 'mu_x'), ...g('xx', 'm_xx'), ...g('xy', 'm_xy')];
  const y = [...g('mu_y', 'mu_y'), ...g('yy', 'm_yy')];
  return {
    jvp: [[map.name, map.F], [`d${map.name}`, tangentsOf([map.F])[0]!]],
    hvpX: [[map.name, map.F], ...x],
    hvpBoth: [[map.name, map.F], ...x, ...y],
    names,
  };
}

/** The tangents of the moment products at one pixel (the products' JVP in the direction vxv, vyv), from the products' graph. */
function productTangents(): LoweredCode {
  const { x, y, products: p } = momentProducts('xv', 'yv');
  const tangents = jvp(MOMENTS.map(({ m }) => p[m]), [x, y], [variable('vxv'), variable('vyv')]);
  return lowerScalar(
    MOMENTS.map(({ plane }, n) => [`pv_${plane}`, tangents[n]!] as [string, Node]),
    new Map(),
    { prefix: 'tv' },
  );
}

/**
 * The chain rule of pass 4 and its tangent, for one image: the vjp of the moment products seeded
 * with the transposed partials t_* (the gradient), and its derivative in the direction of the
 * pixels (vxv, vyv) and of the seeds (dt_*: the transposed tangents of the partials), the HVP.
 */
function chainRuleTangent(side: 'x' | 'y'): LoweredCode {
  const { x, y, products: p } = momentProducts('xv', 'yv');
  const seedNames = ['t_mu_x', 't_mu_y', 't_xy', 't_xx', 't_yy'];
  const seeds = seedNames.map(variable);
  const [d] = vjp([p.mu_x, p.mu_y, p.m_xy, p.m_xx, p.m_yy], seeds, [side === 'x' ? x : y]);
  const [h] = jvp([d!], [x, y, ...seeds], [variable('vxv'), variable('vyv'), ...seedNames.map((n) => variable(`d${n}`))]);
  return lowerScalar([[`d_${side}`, d!], [`hv_${side}`, h!]], new Map(), { prefix: `h${side}` });
}

/** The ten pass-1 planes: the products' (setup's h_*, p_*) and their tangents' (h_v*, p_v*). */
const PLANES = MOMENTS.map(({ plane }) => plane);
const tangentPlanes = (prefix: string): string[] => PLANES.map((m) => `${prefix}_v${m}`);

/** Allocations beside setup's: the tangent planes of passes 1 and 2. */
function tangentSetup(): Stmt[] {
  return [
    s.comment('the horizontally filtered tangents of the products (pass 1), in the arithmetic, like the products'),
    ...tangentPlanes('h').map((n) => s.alloc(n, 'acc', int.mul(i('rows'), i('SW')))),
    ...tangentPlanes('p').map((n) => s.alloc(n, 'acc', i('PW'))),
  ];
}

/** Pass 1 on ten planes: row i of x, y and the direction padded by the rule, the products and their tangents, correlated with tapsW. */
function pass1(b: Build, k: number | null, dirX: string, dirY: string): Stmt[] {
  const zero = real.lit(0, 'real');
  const tangents = productTangents();
  const read = (name: string, buf: string): Stmt => s.let(name, real.select(cmp.lt(i('s'), 0), zero, load(buf, int.add(i('row'), i('s')), 'real')));
  const xv = real.ref('xv', 'real'), yv = real.ref('yv', 'real');
  const all = [...PLANES.map((m) => `p_${m}`), ...tangentPlanes('p')];
  const sums = [...PLANES.map((m) => `s_${m}`), ...PLANES.map((m) => `s_v${m}`)];
  const hs = [...PLANES.map((m) => `h_${m}`), ...tangentPlanes('h')];
  return [
    s.comment('pass 1: pad row i of x, y and the direction by the boundary rule; the products and their tangents, correlated with tapsW'),
    s.for('i', 0, i('H'), [
      s.let('row', int.add(i('base'), int.mul(i('i'), i('W')))),
      s.for('q', 0, i('PW'), [
        s.let('s', load('colSource', i('q'), 'i32')),
        read('xv', 'x'),
        read('yv', 'y'),
        read('vxv', dirX),
        read('vyv', dirY),
        s.store('p_x', i('q'), xv),
        s.store('p_y', i('q'), yv),
        s.store('p_xx', i('q'), real.mul(xv, xv)),
        s.store('p_yy', i('q'), real.mul(yv, yv)),
        s.store('p_xy', i('q'), real.mul(xv, yv)),
        ...tangents.stmts,
        ...PLANES.map((m, n) => s.store(`p_v${m}`, i('q'), acc(tangents.outputNames[n]!))),
      ]),
      s.let('o', int.mul(i('i'), i('SW'))),
      s.for('j', 0, i('MW'), [
        ...symmetricDots(
          b,
          k,
          'W',
          sums.map((n, m) => [n, all[m]!] as const),
          k === null ? int.add(i('j'), i('rW')) : int.add(i('j'), (k - 1) / 2),
          (t) => int.add(i('j'), t),
          (t) => (k === null ? int.sub(int.sub(int.add(i('j'), i('kw')), 1), t) : int.add(i('j'), int.sub(k - 1, t))),
        ),
        ...hs.map((n, m) => s.store(n, int.add(i('o'), i('j')), acc(sums[m]!))),
      ]),
    ]),
  ];
}

/** Pass 2's ten dot products at map pixel (i, j): the moments and their tangents. */
function moments10(b: Build, k: number | null): Stmt[] {
  return verticalDots(b, k, [...MOMENTS.map(({ m, plane }) => [m, `h_${plane}`] as const), ...MOMENTS.map(({ t, plane }) => [t, `h_v${plane}`] as const)]);
}

/** The plane loop's opening: its offset and weight, the zeroed row sums, pass 1. */
function planeOpening(b: Build, k: number | null, dirX: string, dirY: string, rowSums: readonly string[]): Stmt[] {
  return [
    s.let('base', int.mul(int.mul(i('plane'), i('H')), i('W'))),
    s.comment("the reduction weight of this plane's map pixels (one for all, or one per image and channel)"),
    s.let('omega', real.select(cmp.not(present('planeOmega')), f64('omegaAll'), load('planeOmega', i('plane'), 'f64'))),
    ...rowSums.map((n) => s.fill(n, 0, i('MH'), real.lit(0, 'f64'))),
    ...pass1(b, k, dirX, dirY),
  ];
}

const directions = (a: string, b: string): Param[] => [
  { k: 'buffer', name: a, elem: 'real', access: 'read' },
  { k: 'buffer', name: b, elem: 'real', access: 'read' },
];

const windowDoc = (k: number | null): string => (k === null ? '' : `, ${k} x ${k} window (taps unrolled)`);
const kernelName = (family: string, what: 'Jvp' | 'Hvp', storage: StorageSuffix, k: number | null): string => `${family}${what}${storage}${k === null ? '' : `K${k}`}`;

/** The JVP kernel: passes 1-2 on ten planes; returns the value, writes its directional derivative (and the map and its tangent when asked). */
function jvpKernel(b: Build, storage: StorageSuffix, k: number | null, code: LoweredCode): Kernel {
  const array = arrayNameOf(precisionOf(storage));
  const v = b.value;
  const dv = `d${v}`;
  const withMap = bool('withMap');
  const region = cmp.and(cmp.and(bool('inRow'), cmp.ge(i('j'), i('crop'))), cmp.lt(i('j'), int.sub(i('MW'), i('crop'))));
  const masked = (e: Expr): Expr => real.select(region, e, real.lit(0, 'acc'));
  return {
    name: kernelName(b.name, 'Jvp', storage, k),
    doc: `The omega-weighted sum of ${v} over the region of the map of x and y (${array} storage), boundary rule p.padding${windowDoc(k)},\nand its directional derivative in the direction (dx, dy) (each N x C x H x W): returns the value, writes the derivative\ninto out.tangent[0] and, when out.map and out.mapTangent are given, ${v} and its tangent at every window position\n(N x C x MH x MW, uncropped). Passes 1-2 on ten planes: 10 kw + 10 kh multiply-adds per pixel and\n${code.flops} flops of ${v} and its tangent.`,
    params: [
      ...images,
      ...directions('dx', 'dy'),
      kernelParams(b),
      {
        k: 'record',
        name: 'out',
        typeName: 'JvpOutputs<{real}>',
        fields: [
          { k: 'buffer', name: 'tangent', elem: 'f64', access: 'write' },
          { k: 'buffer', name: 'map', elem: 'real', access: 'write', optional: 'null' },
          { k: 'buffer', name: 'mapTangent', elem: 'real', access: 'write', optional: 'null' },
        ],
      },
    ],
    returns: 'f64',
    body: [
      ...setup(k),
      ...tangentSetup(),
      s.fail(cmp.and(present('map'), cmp.not(present('mapTangent'))), 'out.map is given without out.mapTangent'),
      s.let('withMap', cmp.and(present('map'), present('mapTangent'))),
      s.alloc('rowTan', 'f64', i('MH')),
      s.comment('with the map asked for, every window position; else the region alone'),
      s.let('lo', int.select(withMap, 0, i('crop'))),
      s.var('total', real.lit(0, 'f64')),
      s.var('totalTan', real.lit(0, 'f64')),
      s.for('plane', 0, int.mul(i('N'), i('C')), [
        ...planeOpening(b, k, 'dx', 'dy', ['rowSum', 'rowTan']),
        s.comment(`pass 2: vertical correlation of the moments and their tangents, fused with ${v}, its tangent\nd${v} = sum_m d${v}/dm dm and the sums, in column blocks of BLOCK (the kh rows a block reads stay in L1)`),
        s.forStep('jb', i('lo'), int.sub(i('MW'), i('lo')), i('BLOCK'), [
          s.let('je', int.min(int.add(i('jb'), i('BLOCK')), int.sub(i('MW'), i('lo')))),
          s.for('i', i('lo'), int.sub(i('MH'), i('lo')), [
            ...pass2Rows(k),
            s.var('blockSum', real.lit(0, 'f64')),
            s.var('blockTan', real.lit(0, 'f64')),
            s.if(
              withMap,
              [
                s.let('inRow', cmp.and(cmp.ge(i('i'), i('crop')), cmp.lt(i('i'), int.sub(i('MH'), i('crop'))))),
                s.let('mo', int.mul(int.add(int.mul(i('plane'), i('MH')), i('i')), i('MW'))),
                s.for('j', i('jb'), i('je'), [
                  ...moments10(b, k),
                  ...code.stmts,
                  s.store('map', int.add(i('mo'), i('j')), acc(v)),
                  s.store('mapTangent', int.add(i('mo'), i('j')), acc(dv)),
                  addF64('blockSum', masked(acc(v))),
                  addF64('blockTan', masked(acc(dv))),
                ]),
              ],
              [s.for('j', i('jb'), i('je'), [...moments10(b, k), ...code.stmts, addF64('blockSum', acc(v)), addF64('blockTan', acc(dv))])],
            ),
            s.store('rowSum', i('i'), real.add(load('rowSum', i('i'), 'f64'), f64('blockSum'))),
            s.store('rowTan', i('i'), real.add(load('rowTan', i('i'), 'f64'), f64('blockTan'))),
          ]),
        ]),
        ...planeTotal(b),
        s.var('planeTan', real.lit(0, 'f64')),
        s.for('i', i('crop'), int.sub(i('MH'), i('crop')), [addF64('planeTan', load('rowTan', i('i'), 'f64'))]),
        addF64('totalTan', real.mul(f64('omega'), f64('planeTan'))),
      ]),
      s.store('tangent', 0, f64('totalTan')),
      s.return(f64('total')),
    ],
  };
}

/** A map that passes 3-4 transpose: its name in pass 2, the pass-1 plane that holds its transpose, the seed it becomes in the chain rule. */
interface Transposed {
  readonly g: string;
  readonly plane: string;
  readonly seed: string;
}
const GROUP_X: readonly Transposed[] = [
  { g: 'g_mu_x', plane: 'h_x', seed: 't_mu_x' },
  { g: 'g_xx', plane: 'h_xx', seed: 't_xx' },
  { g: 'g_xy', plane: 'h_xy', seed: 't_xy' },
  { g: 'dg_mu_x', plane: 'h_vx', seed: 'dt_mu_x' },
  { g: 'dg_xx', plane: 'h_vxx', seed: 'dt_xx' },
  { g: 'dg_xy', plane: 'h_vxy', seed: 'dt_xy' },
];
const GROUP_Y: readonly Transposed[] = [
  { g: 'g_mu_y', plane: 'h_y', seed: 't_mu_y' },
  { g: 'g_yy', plane: 'h_yy', seed: 't_yy' },
  { g: 'dg_mu_y', plane: 'h_vy', seed: 'dt_mu_y' },
  { g: 'dg_yy', plane: 'h_vyy', seed: 'dt_yy' },
];

/** The HVP kernel: passes 1-4, the gradient kernel's schedule on the partials and their tangents. */
function hvpKernel(b: Build, storage: StorageSuffix, k: number | null, codeBoth: LoweredCode, codeX: LoweredCode): Kernel {
  const array = arrayNameOf(precisionOf(storage));
  const v = b.value;
  const chainX = chainRuleTangent('x');
  const chainY = chainRuleTangent('y');
  const { SW, rowAt, p3Rows, p3a, p3b, p3center, p4center, p4a, p4b } = transposeIndexing(k);
  const withY = bool('withY');
  const gStore = (group: readonly Transposed[]): Stmt[] => group.map(({ g }) => s.store(`${g}s`, int.add(i('o'), i('j')), acc(g)));
  const both = [...GROUP_X, ...GROUP_Y];
  // pass 3 of a group: the vertical transpose of its maps into their pass-1 planes
  const pass3 = (group: readonly Transposed[]): Stmt =>
    s.for('j', i('jb'), i('je'), [
      ...symmetricDots(b, k, 'H', group.map(({ g }) => [`s_${g}`, `${g}s`] as const), p3center, p3a, p3b),
      ...group.map(({ g, plane }) => s.store(plane, int.add(i('o'), i('j')), acc(`s_${g}`))),
    ]);
  const foldRows = (group: readonly Transposed[]): Stmt[] => group.map(({ plane }) => s.store(plane, int.add(i('to'), i('j')), real.add(at(plane, int.add(i('to'), i('j'))), at(plane, int.add(i('from'), i('j'))))));
  const pass4 = (group: readonly Transposed[]): Stmt =>
    s.for('q', 0, i('PW'), [
      ...symmetricDots(b, k, 'W', group.map(({ g }) => [`s_${g}`, `e_${g}`] as const), p4center, p4a, p4b),
      ...group.map(({ g }) => s.store(`a_${g}`, i('q'), acc(`s_${g}`))),
    ]);
  const seeds = (group: readonly Transposed[]): Stmt[] => group.map(({ g, seed }) => s.let(seed, at(`a_${g}`, i('q'))));
  return {
    name: kernelName(b.name, 'Hvp', storage, k),
    doc: `The omega-weighted sum of ${v} over the region of the map of x and y (${array} storage), boundary rule p.padding${windowDoc(k)}:\nreturns the value, writes its gradient d/dx into out.gradX and the Hessian with respect to x times the direction\n(vx, vy) into out.hvpX (H_xx vx + H_xy vy); when out.hvpY is given, d/dy into out.gradY and H_yx vx + H_yy vy into\nout.hvpY (each N x C x H x W). Forward over reverse: passes 1-4 of the gradient kernel on the partials and their\ntangents, 20 kw + 20 kh multiply-adds per pixel (16 kw + 16 kh for x alone) and ${codeBoth.flops} flops of ${v},\nits partials and their tangents.`,
    params: [
      ...images,
      ...directions('vx', 'vy'),
      kernelParams(b),
      {
        k: 'record',
        name: 'out',
        typeName: 'HvpOutputs<{real}>',
        fields: [
          { k: 'buffer', name: 'gradX', elem: 'real', access: 'write' },
          { k: 'buffer', name: 'hvpX', elem: 'real', access: 'write' },
          { k: 'buffer', name: 'gradY', elem: 'real', access: 'write', optional: 'null' },
          { k: 'buffer', name: 'hvpY', elem: 'real', access: 'write', optional: 'null' },
        ],
      },
    ],
    returns: 'f64',
    body: [
      ...setup(k),
      ...tangentSetup(),
      s.fail(cmp.and(present('hvpY'), cmp.not(present('gradY'))), 'out.hvpY is given without out.gradY'),
      s.let('withY', cmp.and(present('hvpY'), present('gradY'))),
      s.comment('pass-2 output: the weighted partial maps g and their tangents dg, zero outside the region, with kh - 1\nzero rows above and below (map row i is row i + kh - 1), in the arithmetic'),
      s.let('GH', int.add(i('MH'), int.mul(2, int.sub(i('kh'), 1)))),
      ...GROUP_X.map(({ g }) => s.alloc(`${g}s`, 'acc', int.mul(i('GH'), SW))),
      ...GROUP_Y.map(({ g }) => s.alloc(`${g}s`, 'acc', int.select(withY, int.mul(i('GH'), SW), 0))),
      s.alloc('above', 'i32', i('kh')),
      s.alloc('below', 'i32', i('kh')),
      s.comment('pass-4 scratch: each transposed row copied between kw - 1 zeros, and the gathered padded row'),
      s.let('EW', int.add(i('MW'), int.mul(2, int.sub(i('kw'), 1)))),
      ...both.map(({ g }) => s.alloc(`e_${g}`, 'acc', i('EW'))),
      ...both.map(({ g }) => s.alloc(`a_${g}`, 'acc', i('PW'))),
      s.var('total', real.lit(0, 'f64')),
      s.for('plane', 0, int.mul(i('N'), i('C')), [
        ...planeOpening(b, k, 'vx', 'vy', ['rowSum']),
        s.comment(`pass 2: vertical correlation of the moments and their tangents, fused with ${v}, its weighted partials g and\ntheir tangents dg (the second partials times the tangent moments), in column blocks of BLOCK`),
        s.forStep('jb', i('crop'), int.sub(i('MW'), i('crop')), i('BLOCK'), [
          s.let('je', int.min(int.add(i('jb'), i('BLOCK')), int.sub(i('MW'), i('crop')))),
          s.for('i', i('crop'), int.sub(i('MH'), i('crop')), [
            ...pass2Rows(k),
            s.let('o', rowAt(int.add(i('i'), int.sub(i('kh'), 1)))),
            s.var('blockSum', real.lit(0, 'f64')),
            s.if(
              withY,
              [s.for('j', i('jb'), i('je'), [...moments10(b, k), ...codeBoth.stmts, addF64('blockSum', acc(v)), ...gStore(both)])],
              [s.comment("x's row alone: the partials with respect to y's moments are not computed"), s.for('j', i('jb'), i('je'), [...moments10(b, k), ...codeX.stmts, addF64('blockSum', acc(v)), ...gStore(GROUP_X)])],
            ),
            s.store('rowSum', i('i'), real.add(load('rowSum', i('i'), 'f64'), f64('blockSum'))),
          ]),
        ]),
        s.comment('pass 3: vertical transpose of g and dg into the pass-1 planes (mirrored taps paired), then the rows of\nthe padding folded back onto the rows they were read from (the boundary rule\'s transpose)'),
        s.forStep('jb', 0, i('MW'), i('BLOCK'), [
          s.let('je', int.min(int.add(i('jb'), i('BLOCK')), i('MW'))),
          s.for('rho', 0, i('PH'), [s.let('o', rowAt(i('rho'))), s.let('mid', rowAt(int.add(i('rho'), i('rH')))), ...p3Rows, pass3(GROUP_X), s.if(withY, [pass3(GROUP_Y)])]),
        ]),
        s.for('rho', 0, i('PH'), [
          s.if(cmp.and(cmp.ge(i('rho'), i('offH')), cmp.lt(i('rho'), int.add(i('offH'), i('H')))), [s.continue()]),
          s.let('s', callInt('boundaryIndex', int.sub(i('rho'), i('offH')), i('H'), rule)),
          s.if(cmp.lt(i('s'), 0), [s.continue()]),
          s.let('from', rowAt(i('rho'))),
          s.let('to', rowAt(int.add(i('s'), i('offH')))),
          s.for('j', 0, i('MW'), [...foldRows(GROUP_X), s.if(withY, foldRows(GROUP_Y))]),
        ]),
        s.comment('pass 4: horizontal transpose (gather into a padded row, fold the padding back), fused with the chain rule\nand its tangent: the vjp of the moment products seeded with the transposed g (t_*), and its derivative in the\ndirection of the pixels (vxv, vyv) and of the seeds (dt_*, the transposed dg)'),
        s.for('i', 0, i('H'), [
          s.let('o', rowAt(int.add(i('i'), i('offH')))),
          ...GROUP_X.map(({ g, plane }) => s.copy(`e_${g}`, int.sub(i('kw'), 1), plane, i('o'), i('MW'))),
          s.if(withY, GROUP_Y.map(({ g, plane }) => s.copy(`e_${g}`, int.sub(i('kw'), 1), plane, i('o'), i('MW')))),
          pass4(GROUP_X),
          s.if(withY, [pass4(GROUP_Y)]),
          s.for('q', 0, i('PW'), [
            s.if(cmp.and(cmp.ge(i('q'), i('offW')), cmp.lt(i('q'), int.add(i('offW'), i('W')))), [s.continue()]),
            s.let('s', load('colSource', i('q'), 'i32')),
            s.if(cmp.lt(i('s'), 0), [s.continue()]),
            ...both.map(({ g }) => s.store(`a_${g}`, int.add(i('s'), i('offW')), real.add(at(`a_${g}`, int.add(i('s'), i('offW'))), at(`a_${g}`, i('q'))))),
          ]),
          s.let('row', int.add(i('base'), int.mul(i('i'), i('W')))),
          s.for('j', 0, i('W'), [
            s.let('xv', load('x', int.add(i('row'), i('j')), 'real')),
            s.let('yv', load('y', int.add(i('row'), i('j')), 'real')),
            s.let('vxv', load('vx', int.add(i('row'), i('j')), 'real')),
            s.let('vyv', load('vy', int.add(i('row'), i('j')), 'real')),
            s.let('q', int.add(i('j'), i('offW'))),
            ...seeds(GROUP_X),
            ...chainX.stmts,
            s.store('gradX', int.add(i('row'), i('j')), acc('d_x')),
            s.store('hvpX', int.add(i('row'), i('j')), acc('hv_x')),
            s.if(withY, [...seeds(GROUP_Y), ...chainY.stmts, s.store('gradY', int.add(i('row'), i('j')), acc('d_y')), s.store('hvpY', int.add(i('row'), i('j')), acc('hv_y'))]),
          ]),
        ]),
        ...planeTotal(b),
      ]),
      s.return(f64('total')),
    ],
  };
}

/** The families that have JVP and HVP kernels: plain SSIM's (a pixel term has no such schedule yet). */
export const DERIVATIVE_FAMILIES: readonly string[] = ['ssim'];

/** The JVP and HVP kernel names of a family at one window size (null: generic), by storage. */
export function derivativeKernelNames(family: string, k: number | null, st: StorageSuffix): { jvp: string; hvp: string } {
  return { jvp: kernelName(family, 'Jvp', st, k), hvp: kernelName(family, 'Hvp', st, k) };
}

/** One kernel of the derivative programs, with the storage it is printed for. */
export interface DerivativeKernel {
  readonly kernel: Kernel;
  readonly storage: Precision;
  readonly family: KernelFamily;
}

/** A family's JVP and HVP kernels: for each window size (generic, then the unrolled ones) and storage, the JVP then the HVP. */
export function derivativeProgram(family: KernelFamily): { kernels: DerivativeKernel[]; flops: { jvp: number; hvp: number } } {
  if (family.pixel !== undefined) throw new Error(`derivativeProgram: ${family.name} has a pixel term, which these schedules do not carry`);
  // every family's own graphs first: the derivatives' new nodes must not come before any of theirs
  // (products order their factors by creation, so the generated kernels stay the same in any order)
  for (const f of KERNEL_FAMILIES) {
    pointwiseOutputs(f.map());
    f.pixel?.();
  }
  const graph = family.map();
  const d = derivativeOutputs(graph);
  const jvp = lowerScalar(d.jvp, d.names);
  const hvpBoth = lowerScalar(d.hvpBoth, d.names);
  const hvpX = lowerScalar(d.hvpX, d.names);
  const b: Build = { arithmetic: 'float64', value: graph.name, name: family.name, params: family.params, pixel: null };
  const kernels: DerivativeKernel[] = [];
  for (const k of [null, ...family.unrolled]) {
    for (const st of family.storages) {
      const storage = precisionOf(st);
      kernels.push({ kernel: jvpKernel(b, st, k, jvp), storage, family });
      kernels.push({ kernel: hvpKernel(b, st, k, hvpBoth, hvpX), storage, family });
    }
  }
  return { kernels, flops: { jvp: jvp.flops, hvp: hvpBoth.flops } };
}
