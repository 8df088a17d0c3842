/**
 * The one evaluator of the field graph: forward, then reverse mode. This is the chain rule, once:
 * each node hands its adjoint to its arguments by its kind's rule:
 *
 *   linear  a = A b         ->  b_bar += A^T a_bar          (the transpose from src/graph/linear.ts)
 *   map     a = f(b, c, ..) ->  b_bar += a_bar * df/db     (symbolic partials, summed over broadcast dimensions)
 *   reduce  a = mean(b)     ->  b_bar += a_bar / count     (sum: a_bar; per plane: each plane's)
 *
 * SSIM's familiar gradient W^T g_mu + 2 x W^T g_xx + y W^T g_xy is what this gives for SSIM's
 * graph: the three terms are the contributions reaching x through mu_x = W x, m_xx = W (x x)
 * (the map's partial 2x) and m_xy = W (x y) (partial y).
 *
 * Arithmetic is a parameter, three interpretations of the same graph:
 *   'float64'          as written;
 *   'float32-storage'  inputs rounded to float32, arithmetic in float64, gradients stored as float32;
 *   'float32'          float32 arithmetic: Math.fround after every operation (what a float32 kernel does).
 *
 * A rewrite changes one rule of reverse mode for chosen nodes (drop a transpose, use the forward
 * as its adjoint, another boundary, another normaliser, a sign, a partial): a known mistake is a
 * rewrite (src/check/mistakes.ts), so every variant gets the library of mistakes from its graph.
 *
 * Blocks (windowed maps reduced over their region) run on the generated kernels of their map in
 * float64 when kernels are handed in (`kernels`, src/runtime/blocks.ts) and nothing rewrites them;
 * otherwise, and in the float32 arithmetics, their fine graph.
 */
import { grad, mul, substitute, variable, type Node } from '../expr/index.js';
import { sizeOf, type FieldArithmetic, type Shape4 } from '../field/index.js';
import { emitPointwise } from '../expr/pointwise.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode, type ReduceNode } from './node.js';

/** The three interpretations of a graph: float64, float32 storage (inputs and gradients rounded), float32 arithmetic (Math.fround after every operation). */
export type Arithmetic = 'float64' | 'float32-storage' | 'float32';

/** One change to reverse mode's rules (a known mistake). Each hook returns undefined to keep the exact rule. */
export interface Rewrite {
  /** What reaches the argument of a linear node in place of A^T a_bar. */
  readonly transpose?: (node: LinearNode, adjoint: Float64Array, exact: (a: Float64Array) => Float64Array) => Float64Array | undefined;
  /** A map's partial with respect to one argument, in place of its symbolic one (the expression may use the map's variables). */
  readonly partial?: (node: MapNode, arg: string) => Node | undefined;
  /** The count a mean divides by in reverse mode, in place of its own. */
  readonly count?: (node: ReduceNode, count: number) => number | undefined;
  /** Whether to drop what one node hands one argument (an edge left out of the chain rule). */
  readonly drop?: (node: FieldNode, arg: FieldNode) => boolean;
  /** The adjoint the output starts from, in place of 1. */
  readonly seed?: number;
}

/** A block run on kernels: its value, and its gradient for a unit adjoint where asked for. */
export interface BlockRun {
  /** The block's value: a scalar ('loss') or per-plane means ('planes'). */
  readonly value: Float64Array;
  readonly gradX: Float64Array | null;
  readonly gradY: Float64Array | null;
}

/**
 * What runs blocks on generated kernels (src/runtime/blocks.ts's BLOCK_KERNELS): the graph sits
 * below the kernels, so they are handed in.
 */
export interface BlockKernels {
  /** Whether a block's map has kernels for the arithmetic (float32 arithmetic: a value-and-gradient kernel only). */
  has(b: BlockNode, arith: FieldArithmetic, withGradient: boolean): boolean;
  /** The block's value and, with `want`, its gradient for a unit adjoint with respect to x and/or y. */
  run(b: BlockNode, x: Float64Array, y: Float64Array, arith: FieldArithmetic, want: { readonly x: boolean; readonly y: boolean } | null): BlockRun;
}

export interface EvaluateOptions {
  readonly arith?: Arithmetic;
  /** Names of the inputs to differentiate with respect to (none: forward only). */
  readonly wrt?: readonly string[];
  readonly rewrite?: Rewrite;
  /** The kernels blocks may run on; without them every block runs its fine graph. */
  readonly kernels?: BlockKernels;
  /** Run blocks on their kernels when there are some (default: without a rewrite). */
  readonly fused?: boolean;
  /** Keep every node's value and adjoint, and every contribution along an edge. */
  readonly record?: boolean;
  /**
   * Every node's value from an earlier recorded evaluation of this graph on the same inputs, in the
   * same arithmetic and with blocks expanded alike: the forward pass is skipped (a rewrite changes
   * reverse mode only, so the known mistakes share one forward pass).
   */
  readonly forward?: ReadonlyMap<number, Float64Array>;
  /**
   * Values that replace what the forward pass computes at these nodes (by id; blocks expanded), and
   * counts that replace a reduce node's own in reverse mode (before a rewrite's count hook): a tile
   * of larger images evaluated with the whole images' per-plane and scalar values and counts
   * (src/check/subsample.ts) gives the whole images' gradient at the pixels its halo protects.
   */
  readonly pin?: ReadonlyMap<number, Float64Array>;
  readonly counts?: ReadonlyMap<number, number>;
}

/** What reached one argument from one node in reverse mode. */
export interface Contribution {
  readonly from: FieldNode;
  readonly to: FieldNode;
  /** The map variable, or the linear/reduce node's only argument ('arg'), or a block's 'x' / 'y'. */
  readonly via: string;
  readonly value: Float64Array;
}

/** What evaluateGraph returns: the output's value, the gradients asked for, and what was recorded. */
export interface GraphResult {
  /** The output's value (a 1-element array for a scalar loss). */
  readonly value: Float64Array;
  /** d output / d input, per requested input, each of the input's shape. */
  readonly grads: Readonly<Record<string, Float64Array>>;
  /**
   * Node values by id (a block's, not its fine graph's, when it ran on its kernels): every node's
   * with `record`, else the small ones and those reverse mode read.
   */
  readonly values: ReadonlyMap<number, Float64Array>;
  /** With `record`: adjoints by node id, and the contributions in the order reverse mode made them. */
  readonly adjoints: ReadonlyMap<number, Float64Array>;
  readonly contributions: readonly Contribution[];
}

const exactly = (v: number): number => v;

/** Fields of at most this many values are kept after the evaluation whatever their use (per-plane and scalar values). */
const SMALL = 4096;

/** Evaluates `output` on the input fields (by name, each of its input node's shape) and, with `wrt`, its gradient. */
export function evaluateGraph(output: FieldNode, inputs: Readonly<Record<string, Float64Array>>, opts: EvaluateOptions = {}): GraphResult {
  const arith = opts.arith ?? 'float64';
  const a: FieldArithmetic = arith === 'float32' ? 'f32' : 'f64';
  const r = arith === 'float32' ? Math.fround : exactly;
  const wrt = opts.wrt ?? [];
  const fused = opts.fused ?? opts.rewrite === undefined;
  // A block runs on its map's kernels when fused and it has some for the arithmetic (float64, also
  // on float32-stored inputs; float32 arithmetic: the emulated-float32 value-and-gradient kernel,
  // so only with a gradient to come); otherwise its fine graph.
  const kernels = opts.kernels;
  const expand = (b: BlockNode): boolean => !fused || kernels === undefined || !kernels.has(b, arith === 'float32' ? 'f32' : 'f64', wrt.length > 0);
  const order = topoOrder([output], expand);
  const at = (n: FieldNode): FieldNode => resolved(n, expand);
  const values = new Map<number, Float64Array>();
  const val = (n: FieldNode): Float64Array => values.get(at(n).id)!;

  // A block's plane sums depend on its own plane's pixels only, so its gradient for any adjoint is
  // the gradient for a unit adjoint scaled plane by plane: with a gradient to come, the forward pass
  // runs the value-and-gradient kernel once (for adjoint 1) and reverse mode scales what it gave.
  const unitGrads = new Map<number, { gradX: Float64Array | null; gradY: Float64Array | null }>();
  const keep = opts.record === true;
  // Without `record`, reverse mode visits only what leads to an input asked for (the other
  // image's windows, a mask's branch are left alone); with it, every adjoint is kept for readers.
  const leads = new Set<number>();
  for (const n of order) {
    if (keep || (n.kind === 'input' && wrt.includes(n.name)) || argsOf(n).some((g) => leads.has(at(g).id))) leads.add(n.id);
  }
  const wanted = (n: FieldNode): boolean => leads.has(at(n).id);
  // Without `record`, a field is let go once its last user has run, unless reverse mode reads it
  // (a map's arguments) or it is small (per-plane and scalar values stay, for callers to read).
  const users = new Map<number, number>();
  const readBack = new Set<number>([at(output).id]);
  for (const n of order) {
    const args = argsOf(n);
    for (const g of args) users.set(at(g).id, (users.get(at(g).id) ?? 0) + 1);
    if (n.kind === 'map' && wrt.length > 0) for (const g of args) readBack.add(at(g).id);
  }
  if (opts.forward !== undefined) {
    if (order.some((n) => n.kind === 'block')) throw new Error('evaluateGraph: a shared forward pass needs the blocks expanded (fused: false)');
    for (const n of order) {
      const v = opts.forward.get(n.id);
      if (v === undefined) throw new Error(`evaluateGraph: the shared forward pass has no value for node ${n.label}`);
      values.set(n.id, v);
    }
  }
  for (const n of opts.forward === undefined ? order : []) {
    const pinned = opts.pin?.get(n.id);
    if (pinned !== undefined) values.set(n.id, pinned);
    else if (n.kind === 'block' && wrt.length > 0) {
      const run = kernels!.run(n, val(n.x), val(n.y), a, { x: wanted(n.x), y: wanted(n.y) });
      unitGrads.set(n.id, { gradX: run.gradX, gradY: run.gradY });
      values.set(n.id, run.value);
    } else values.set(n.id, forward(n, val, inputs, arith, a, r, kernels));
    if (keep) continue;
    for (const g of argsOf(n)) {
      const id = at(g).id;
      const left = users.get(id)! - 1;
      users.set(id, left);
      if (left === 0 && !readBack.has(id) && values.get(id)!.length > SMALL) values.delete(id);
    }
  }

  const adjoints = new Map<number, Float64Array>();
  const contributions: Contribution[] = [];
  const grads: Record<string, Float64Array> = {};
  if (wrt.length > 0) {
    const out = at(output);
    if (sizeOf(out.shape) !== 1) throw new Error(`evaluateGraph: the gradient needs a scalar output, got shape [${out.shape}]`);
    adjoints.set(out.id, Float64Array.of(opts.rewrite?.seed ?? 1));
    const give = (from: FieldNode, to: FieldNode, via: string, c: Float64Array): void => {
      const target = at(to);
      if (opts.rewrite?.drop?.(from, target) === true) return;
      if (opts.record === true) contributions.push({ from, to: target, via, value: c });
      const prev = adjoints.get(target.id);
      if (prev === undefined) adjoints.set(target.id, arith === 'float32' ? c.map(r) : c.slice());
      else for (let i = 0; i < prev.length; i++) prev[i] = r(prev[i]! + c[i]!);
    };
    for (let k = order.length - 1; k >= 0; k--) {
      const n = order[k]!;
      const bar = adjoints.get(n.id);
      if (bar === undefined || !leads.has(n.id)) continue;
      backward(n, bar, val, give, a, opts.rewrite, unitGrads, wanted, opts.counts);
      // its adjoint is spent (an input's is the answer)
      if (!keep && n.kind !== 'input') adjoints.delete(n.id);
    }
    for (const name of wrt) {
      const node = order.find((n) => n.kind === 'input' && n.name === name);
      const g = node === undefined ? undefined : adjoints.get(node.id);
      const size = node === undefined ? sizeOf(inputShape(output, name)) : sizeOf(node.shape);
      const full = g ?? new Float64Array(size);
      grads[name] = arith === 'float32-storage' ? full.map(Math.fround) : full;
    }
  }
  return { value: val(output), grads, values, adjoints: keep ? adjoints : new Map(), contributions };
}

function inputShape(output: FieldNode, name: string): Shape4 {
  const node = topoOrder([output], true).find((n) => n.kind === 'input' && n.name === name);
  if (node === undefined) throw new Error(`evaluateGraph: the graph has no input ${name}`);
  return node.shape;
}

function forward(
  n: FieldNode,
  val: (n: FieldNode) => Float64Array,
  inputs: Readonly<Record<string, Float64Array>>,
  arith: Arithmetic,
  a: FieldArithmetic,
  r: (v: number) => number,
  kernels: BlockKernels | undefined,
): Float64Array {
  switch (n.kind) {
    case 'input': {
      const d = inputs[n.name];
      if (d === undefined) throw new Error(`evaluateGraph: no values for input ${n.name}`);
      if (d.length !== sizeOf(n.shape)) throw new Error(`evaluateGraph: input ${n.name} has ${d.length} values, its shape [${n.shape}] needs ${sizeOf(n.shape)}`);
      return arith === 'float64' ? d : d.map(Math.fround);
    }
    case 'linear':
      return n.op.apply(val(n.arg), a);
    case 'map':
      return runMap(n, val, a);
    case 'reduce':
      return reduceForward(n, val(n.arg), r);
    case 'block':
      return kernels!.run(n, val(n.x), val(n.y), 'f64', null).value;
  }
}

function backward(
  n: FieldNode,
  bar: Float64Array,
  val: (n: FieldNode) => Float64Array,
  give: (from: FieldNode, to: FieldNode, via: string, c: Float64Array) => void,
  a: FieldArithmetic,
  rewrite: Rewrite | undefined,
  unitGrads: ReadonlyMap<number, { gradX: Float64Array | null; gradY: Float64Array | null }>,
  wanted: (n: FieldNode) => boolean,
  counts?: ReadonlyMap<number, number>,
): void {
  switch (n.kind) {
    case 'input':
      return;
    case 'linear': {
      if (!wanted(n.arg)) return;
      const exact = (v: Float64Array): Float64Array => n.op.transpose(v, a);
      give(n, n.arg, 'arg', rewrite?.transpose?.(n, bar, exact) ?? exact(bar));
      return;
    }
    case 'map': {
      const names = Object.keys(n.args).filter((v) => wanted(n.args[v]!));
      const parts = runPartials(n, names, bar, val, a, rewrite);
      names.forEach((v, i) => give(n, n.args[v]!, v, reduceToShape(parts[i]!, n.shape, n.args[v]!.shape, a)));
      return;
    }
    case 'reduce': {
      if (!wanted(n.arg)) return;
      const [N, C] = n.arg.shape;
      const total = sizeOf(n.arg.shape);
      const per = total / (N * C);
      const count = counts?.get(n.id) ?? (n.how === 'mean' ? total : n.how === 'planeMean' ? per : 1);
      const k = rewrite?.count?.(n, count) ?? count;
      const out = new Float64Array(total);
      const r = a === 'f32' ? Math.fround : exactly;
      for (let i = 0; i < total; i++) {
        const b = n.how === 'mean' || n.how === 'sum' ? bar[0]! : bar[Math.floor(i / per)]!;
        out[i] = r(b / k);
      }
      give(n, n.arg, 'arg', out);
      return;
    }
    case 'block': {
      const unit = unitGrads.get(n.id)!;
      if (wanted(n.x) && unit.gradX !== null) give(n, n.x, 'x', scalePlanes(unit.gradX, bar, n.x.shape, a));
      if (wanted(n.y) && unit.gradY !== null) give(n, n.y, 'y', scalePlanes(unit.gradY, bar, n.y.shape, a));
      return;
    }
  }
}

/**
 * A block's vector-Jacobian product from its unit-adjoint gradient: each plane scaled by its
 * adjoint (a 'loss' block has one adjoint for every plane), rounded to float32 in that arithmetic.
 */
export function scalePlanes(unit: Float64Array, bar: Float64Array, shape: Shape4, arith: FieldArithmetic): Float64Array {
  if (bar.length === 1 && bar[0] === 1) return unit;
  const per = sizeOf(shape) / (shape[0] * shape[1]);
  const r = arith === 'f32' ? Math.fround : (v: number): number => v;
  return unit.map((v, i) => r(v * bar[bar.length === 1 ? 0 : Math.floor(i / per)]!));
}

function reduceForward(n: ReduceNode, v: Float64Array, r: (v: number) => number): Float64Array {
  const [N, C] = n.arg.shape;
  const planes = n.how === 'planeMean' || n.how === 'planeSum' ? N * C : 1;
  const per = v.length / planes;
  const out = new Float64Array(planes);
  for (let p = 0; p < planes; p++) {
    let s = 0;
    for (let q = p * per; q < (p + 1) * per; q++) s = r(s + v[q]!);
    out[p] = n.how === 'mean' || n.how === 'planeMean' ? r(s / per) : s;
  }
  return out;
}

/** Index into a field of shape `from` for each element of the broadcast shape `to` (null when the shapes are equal). */
function broadcastIndex(from: Shape4, to: Shape4): Int32Array | null {
  if (from.join() === to.join()) return null;
  const [N, C, H, W] = to;
  const idx = new Int32Array(N * C * H * W);
  const st = [from[1] * from[2] * from[3], from[2] * from[3], from[3], 1];
  let q = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    idx[q++] = (from[0] === 1 ? 0 : n) * st[0]! + (from[1] === 1 ? 0 : c) * st[1]! + (from[2] === 1 ? 0 : h) * st[2]! + (from[3] === 1 ? 0 : w) * st[3]!;
  }
  return idx;
}

/** A field of shape `from` read at every element of the shape `to` it broadcasts to. */
export const expand = (v: Float64Array, from: Shape4, to: Shape4): Float64Array => {
  const idx = broadcastIndex(from, to);
  return idx === null ? v : Float64Array.from(idx, (i) => v[i]!);
};

/** The transpose of broadcasting: sums over the dimensions `to` broadcast along. */
export function reduceToShape(v: Float64Array, from: Shape4, to: Shape4, a: FieldArithmetic): Float64Array {
  const idx = broadcastIndex(to, from);
  if (idx === null) return v;
  const r = a === 'f32' ? Math.fround : exactly;
  const out = new Float64Array(sizeOf(to));
  for (let q = 0; q < idx.length; q++) out[idx[q]!] = r(out[idx[q]!]! + v[q]!);
  return out;
}

type Compiled = (arrays: Float64Array[], consts: number[], outputs: Float64Array[], n: number) => void;
const compiledCache = new Map<string, Compiled>();

/**
 * Outputs (expressions over `arrays` and `consts`, named by variable) compiled to one loop over the
 * pixels: the pointwise printer's straight-line code in `new Function` (the code comes from the
 * graph; variables are renamed v0, v1, ... so no name of a user's can reach it).
 */
function compile(outputs: readonly Node[], arrays: readonly string[], consts: readonly string[], a: FieldArithmetic): Compiled {
  const key = `${a}|${arrays.join(',')}|${consts.join(',')}|${outputs.map((o) => o.id).join(',')}`;
  const hit = compiledCache.get(key);
  if (hit !== undefined) return hit;
  const all = [...arrays, ...consts];
  const renamed = substitute([...outputs], new Map(all.map((v, i) => [v, variable(`v${i}`)] as const)));
  const code = emitPointwise(renamed.map((o, i) => [`out_${i}`, o] as const), new Map(), a);
  const body = [
    ...arrays.map((_, i) => `const a${i} = arrays[${i}];`),
    ...consts.map((_, i) => `const v${arrays.length + i} = consts[${i}];`),
    ...outputs.map((_, i) => `const o${i} = outputs[${i}];`),
    'for (let p = 0; p < n; p++) {',
    ...arrays.map((_, i) => `  const v${i} = a${i}[p];`),
    ...code.lines.map((l) => `  ${l}`),
    ...outputs.map((_, i) => `  o${i}[p] = out_${i};`),
    '}',
  ].join('\n');
  const f = new Function('arrays', 'consts', 'outputs', 'n', body) as Compiled;
  compiledCache.set(key, f);
  return f;
}

function runMap(n: MapNode, val: (n: FieldNode) => Float64Array, a: FieldArithmetic): Float64Array {
  const names = Object.keys(n.args);
  const consts = Object.keys(n.consts);
  const size = sizeOf(n.shape);
  const out = new Float64Array(size);
  const arrays = names.map((v) => expand(val(n.args[v]!), n.args[v]!.shape, n.shape));
  compile([n.expr], names, consts, a)(arrays, consts.map((c) => (a === 'f32' ? Math.fround(n.consts[c]!) : n.consts[c]!)), [out], size);
  return out;
}

/** bar * d expr / d arg for the arguments named (the expressions may read every argument). */
function runPartials(n: MapNode, wanted: readonly string[], bar: Float64Array, val: (n: FieldNode) => Float64Array, a: FieldArithmetic, rewrite: Rewrite | undefined): Float64Array[] {
  if (wanted.length === 0) return [];
  const names = Object.keys(n.args);
  const consts = Object.keys(n.consts);
  // the adjoint's variable: a name none of the map's own variables has
  let barName = 'bar_';
  while (names.includes(barName) || consts.includes(barName)) barName += '_';
  const barVar = variable(barName);
  const partials = wanted.map((v) => rewrite?.partial?.(n, v) ?? partialOf(n, v));
  const outputs = partials.map((p) => mul(barVar, p));
  const size = sizeOf(n.shape);
  const results = wanted.map(() => new Float64Array(size));
  const arrays = [...names.map((v) => expand(val(n.args[v]!), n.args[v]!.shape, n.shape)), expand(bar, barShape(bar, n.shape), n.shape)];
  const constValues = consts.map((c) => n.consts[c]!);
  compile(outputs, [...names, barName], consts, a)(arrays, constValues.map((c) => (a === 'f32' ? Math.fround(c) : c)), results, size);
  return results;
}

/** A map's partial with respect to one of its variables, as reverse mode takes it: the one given, else the symbolic one. */
export function partialOf(n: MapNode, v: string): Node {
  return n.partials[v] ?? symbolicPartials(n.expr, [v])[0]!;
}

const partialsCache = new Map<string, Node[]>();
/** d expr / d v for each named variable (symbolic reverse mode of the scalar graph, cached). */
function symbolicPartials(expr: Node, names: readonly string[]): Node[] {
  const key = `${expr.id}|${names.join(',')}`;
  let hit = partialsCache.get(key);
  if (hit === undefined) partialsCache.set(key, (hit = grad(expr, names.map((v) => variable(v)))));
  return hit;
}

const barShape = (bar: Float64Array, shape: Shape4): Shape4 => (bar.length === sizeOf(shape) ? shape : [1, 1, 1, 1]);

export type { BlockNode };
