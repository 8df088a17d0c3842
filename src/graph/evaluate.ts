/**
 * The one evaluator of the field graph: forward, then reverse mode. Reverse mode is the graph's
 * adjoint program (src/graph/adjoint.ts: the chain rule as a list of steps, each node handing its
 * adjoint to its arguments by its kind's rule), built here and run after the forward pass:
 *
 *   linear  a = A b         ->  b_bar += A^T a_bar          (the transpose from src/graph/linear.ts)
 *   map     a = f(b, c, ..) ->  b_bar += a_bar * df/db     (symbolic partials, summed over broadcast dimensions)
 *   reduce  a = mean(b)     ->  b_bar += a_bar / count     (sum: a_bar; per plane: each plane's)
 *
 * SSIM's familiar gradient W^T g_mu + 2 x W^T g_xx + y W^T g_xy is what this gives for SSIM's
 * graph: the three terms are the contributions reaching x through mu_x = W x, m_xx = W (x x)
 * (the map's partial 2x) and m_xy = W (x y) (partial y).
 *
 * Arithmetic is a parameter, three interpretations of the same graph (`Arithmetic`):
 *   'float64'          as written;
 *   'float32-storage'  inputs rounded to float32, arithmetic in float64, gradients stored as float32;
 *   'float32'          float32 arithmetic: Math.fround after every operation (what a float32 kernel does).
 *
 * A known mistake is a rewrite of the program (src/mistakes), passed in as `program`: the
 * evaluator runs whatever program it is given, so every variant gets the library of mistakes
 * from its graph.
 *
 * Blocks (windowed maps reduced over their region) run on the generated kernels of their map in
 * float64 when kernels are handed in (`kernels`, src/runtime/blocks.ts); otherwise, and in the
 * float32 arithmetics, their fine graph.
 */
import { rounding, sizeOf, type Precision, type Shape4 } from '../field/index.js';
import { adjointProgram, runProgram, type AdjointProgram, type Contribution } from './adjoint.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode, type ReduceNode } from './node.js';
import { runMap } from './pointwise.js';

/**
 * How the graph is evaluated: a precision (src/field/precision.ts), or `float32-storage`: float32
 * planes (inputs rounded to float32, gradients stored as float32) with float64 arithmetic.
 */
export type Arithmetic = Precision | 'float32-storage';

/** The precision an arithmetic computes in: float32-storage computes in float64. */
export function computedIn(arith: Arithmetic): Precision {
  return arith === 'float32' ? 'float32' : 'float64';
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
  has(b: BlockNode, arith: Precision, withGradient: boolean): boolean;
  /** The block's value and, with `want`, its gradient for a unit adjoint with respect to x and/or y. */
  run(b: BlockNode, x: Float64Array, y: Float64Array, arith: Precision, want: { readonly x: boolean; readonly y: boolean } | null): BlockRun;
}

export interface EvaluateOptions {
  readonly arith?: Arithmetic;
  /** Names of the inputs to differentiate with respect to (none: forward only). */
  readonly wrt?: readonly string[];
  /**
   * The adjoint program to run (adjointProgram of this output, perhaps rewritten: a known
   * mistake), in place of the one the evaluator builds; it says the inputs differentiated for and
   * which blocks run as their fine graph, so `wrt`, `fused` and `counts` go with it, not here.
   */
  readonly program?: AdjointProgram;
  /** Run blocks on their kernels (default: true). */
  readonly fused?: boolean;
  /** The kernels blocks may run on; without them every block runs its fine graph. */
  readonly kernels?: BlockKernels;
  /** Keep every node's value and adjoint, and every contribution along an edge. */
  readonly record?: boolean;
  /**
   * Every node's value from an earlier recorded evaluation of this graph on the same inputs, in the
   * same arithmetic and with blocks expanded alike: the forward pass is skipped (a rewritten
   * program changes reverse mode only, so the known mistakes share one forward pass).
   */
  readonly forward?: ReadonlyMap<number, Float64Array>;
  /**
   * Values that replace what the forward pass computes at these nodes (by id; blocks expanded), and
   * counts that replace a reduce node's own in reverse mode: a tile of larger images evaluated with
   * the whole images' per-plane and scalar values and counts (src/check/subsample.ts) gives the
   * whole images' gradient at the pixels its halo protects.
   */
  readonly pin?: ReadonlyMap<number, Float64Array>;
  readonly counts?: ReadonlyMap<number, number>;
}

export type { Contribution };

/** What evaluating a field graph gives: its value, the gradients asked for, and the node values and adjoints kept. */
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

/** Fields of at most this many values are kept after the evaluation whatever their use (per-plane and scalar values). */
const SMALL = 4096;

/**
 * The program evaluateGraph runs for these options: blocks on their kernels when fused and they
 * have some for the arithmetic (float64, also on float32-stored inputs; float32 arithmetic: the
 * emulated-float32 value-and-gradient kernel, so only with a gradient to come), otherwise their
 * fine graph; with `record`, every edge.
 */
export function programFor(output: FieldNode, opts: Pick<EvaluateOptions, 'arith' | 'wrt' | 'fused' | 'record' | 'counts' | 'kernels'> = {}): AdjointProgram {
  const arith = opts.arith ?? 'float64';
  const wrt = opts.wrt ?? [];
  const fused = opts.fused ?? true;
  const kernels = opts.kernels;
  const expand = (b: BlockNode): boolean => !fused || kernels === undefined || !kernels.has(b, computedIn(arith), wrt.length > 0);
  return adjointProgram(output, { wrt, expand, every: opts.record === true, ...(opts.counts !== undefined ? { counts: opts.counts } : {}) });
}

/** Evaluates `output` on the input fields (by name, each of its input node's shape) and, with `wrt`, its gradient. */
export function evaluateGraph(output: FieldNode, inputs: Readonly<Record<string, Float64Array>>, opts: EvaluateOptions = {}): GraphResult {
  const arith = opts.arith ?? 'float64';
  const a = computedIn(arith);
  const r = rounding(a);
  if (opts.program !== undefined && (opts.wrt !== undefined || opts.fused !== undefined || opts.counts !== undefined)) {
    throw new Error('evaluateGraph: a program says wrt, fused and counts itself');
  }
  if (opts.program !== undefined && opts.program.output !== output) throw new Error('evaluateGraph: the program is not of this output');
  const program = opts.program ?? programFor(output, opts);
  const wrt = program.wrt;
  const order = program.order;
  const at = (n: FieldNode): FieldNode => resolved(n, program.expand);
  const values = new Map<number, Float64Array>();
  const val = (n: FieldNode): Float64Array => values.get(at(n).id)!;

  // A block's plane sums depend on its own plane's pixels only, so its gradient for any adjoint is
  // the gradient for a unit adjoint scaled plane by plane: with a gradient to come, the forward pass
  // runs the value-and-gradient kernel once (for adjoint 1) and reverse mode scales what it gave.
  const unitGrads = new Map<number, { gradX: Float64Array | null; gradY: Float64Array | null }>();
  const keep = opts.record === true;
  // Without `record`, reverse mode visits only what leads to an input asked for (the other
  // image's windows, a mask's branch are left alone); with it, every adjoint is kept for readers.
  const wanted = (n: FieldNode): boolean => program.leads.has(at(n).id);
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
      const run = kernelsFor(n, opts.kernels).run(n, val(n.x), val(n.y), a, { x: wanted(n.x), y: wanted(n.y) });
      unitGrads.set(n.id, { gradX: run.gradX, gradY: run.gradY });
      values.set(n.id, run.value);
    } else values.set(n.id, forward(n, val, inputs, arith, a, r, opts.kernels));
    if (keep) continue;
    for (const g of argsOf(n)) {
      const id = at(g).id;
      const left = users.get(id)! - 1;
      users.set(id, left);
      if (left === 0 && !readBack.has(id) && values.get(id)!.length > SMALL) values.delete(id);
    }
  }

  const grads: Record<string, Float64Array> = {};
  let run: ReturnType<typeof runProgram> = { adjoints: new Map(), contributions: [] };
  if (wrt.length > 0) {
    run = runProgram(program, values, { arith: a, unit: unitGrads, record: keep });
    for (const name of wrt) {
      const node = order.find((n) => n.kind === 'input' && n.name === name);
      const g = node === undefined ? undefined : run.adjoints.get(node.id);
      const size = node === undefined ? sizeOf(inputShape(output, name)) : sizeOf(node.shape);
      const full = g ?? new Float64Array(size);
      grads[name] = arith === 'float32-storage' ? full.map(Math.fround) : full;
    }
  }
  return { value: val(output), grads, values, adjoints: keep ? run.adjoints : new Map(), contributions: run.contributions };
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
  a: Precision,
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
      return kernelsFor(n, kernels).run(n, val(n.x), val(n.y), 'float64', null).value;
  }
}

/** The kernels a block left unexpanded runs on (a program built with them, run without them, is a caller's error). */
function kernelsFor(b: BlockNode, kernels: BlockKernels | undefined): BlockKernels {
  if (kernels === undefined) throw new Error(`evaluateGraph: block ${b.label} is to run on its kernels, but none were handed in (kernels)`);
  return kernels;
}

/** A reduce node's forward rule on a field of its argument's shape (forward mode applies it to tangents too). */
export function reduceForward(n: ReduceNode, v: Float64Array, r: (v: number) => number): Float64Array {
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

export type { BlockNode };
