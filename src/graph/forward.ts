/**
 * Forward mode and second order over the field graph. Forward mode carries a tangent (the
 * derivative of a node's value in a direction of the inputs) from the inputs to the output, in
 * the forward pass's order, one rule per node kind:
 *
 *   linear  a = A b          ->  a_dot = A b_dot                       (the operator itself, src/graph/linear.ts)
 *   map     a = f(b, c, ..)  ->  a_dot = sum_u df/du u_dot             (the partials reverse mode takes, per pixel; broadcast)
 *   reduce  a = mean(b)      ->  a_dot = mean(b_dot)                   (sum, per plane alike)
 *
 * Blocks are walked as their fine graph (the products, the windows, the map, the crop, the mean).
 *
 * Second order is forward over reverse: the tangent of every quantity reverse mode computes (the
 * adjoint program of src/graph/adjoint.ts) in the direction v. A step linear in the adjoint (a
 * transpose, a count, and every rule a rewrite puts in) hands on the adjoint's tangent by the same
 * rule; a map's step a_bar * p (p its partial with respect to b) has the tangent
 *
 *   b_bar_dot += a_bar_dot * p + a_bar * sum_u dp/du u_dot,
 *
 * dp/du the scalar graph's symbolic derivative of the partial (the second partials, interned like
 * the first). The inputs' adjoint tangents are the Hessian times v.
 *
 * Arithmetic is a parameter, as for reverse mode (src/graph/evaluate.ts): 'float64';
 * 'float32-storage' (inputs and their directions rounded to float32, float64 arithmetic, the
 * derivatives stored as float32); 'float32' (Math.fround after every operation).
 */
import { add, mul, type Node } from '../expr/index.js';
import { rounding, sizeOf, type Precision } from '../field/index.js';
import { adjointProgram, stepValue, type AdjointProgram, type Step, type StepRule } from './adjoint.js';
import { computedIn, evaluateGraph, reduceForward, type Arithmetic } from './evaluate.js';
import { resolved, type FieldNode, type MapNode } from './node.js';
import { partialOf, partialsOf, reduceToShape, runMapWith } from './pointwise.js';

/** A tangent: a field of its node's shape, or null where it is zero (the node does not depend on the direction). */
export type Tangent = Float64Array | null;

export interface TangentOptions {
  readonly arith?: Arithmetic;
  /** Nodes whose values and tangents to return beside the output's (a block stands for its fine graph's output). */
  readonly at?: readonly FieldNode[];
}

/** What forward mode gives: the output's value and tangent, and the values and tangents of the nodes asked for. */
export interface TangentResult {
  readonly value: Float64Array;
  /** The output's tangent (for a scalar loss, its directional derivative: one value). */
  readonly tangent: Float64Array;
  /** Values and tangents of the nodes in `at`, by the id of the node as given. */
  readonly values: ReadonlyMap<number, Float64Array>;
  readonly tangents: ReadonlyMap<number, Float64Array>;
}

const stored = (arith: Arithmetic, v: Float64Array): Float64Array => (arith === 'float64' ? v : v.map(Math.fround));

/** The graph's forward pass with blocks expanded: every node's value, in the arithmetic. */
function forwardValues(output: FieldNode, inputs: Readonly<Record<string, Float64Array>>, arith: Arithmetic): { order: readonly FieldNode[]; values: ReadonlyMap<number, Float64Array> } {
  const program = adjointProgram(output, { wrt: [], expand: true });
  const r = evaluateGraph(output, inputs, { arith, fused: false, record: true });
  return { order: program.order, values: r.values };
}

/** Checks the directions against the inputs (a name the graph reads, the input's size) and rounds them as the arithmetic stores them. */
function inputTangents(order: readonly FieldNode[], direction: Readonly<Record<string, Float64Array>>, arith: Arithmetic): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, d] of Object.entries(direction)) {
    const node = order.find((n) => n.kind === 'input' && n.name === name);
    if (node === undefined) throw new Error(`forward mode: the graph has no input ${name}`);
    if (d.length !== sizeOf(node.shape)) throw new Error(`forward mode: the direction for ${name} has ${d.length} values, its shape [${node.shape}] needs ${sizeOf(node.shape)}`);
    out.set(name, stored(arith, d));
  }
  return out;
}

/** Every node's tangent in the forward pass's order (blocks expanded), null where zero. */
function tangentPass(order: readonly FieldNode[], values: ReadonlyMap<number, Float64Array>, dir: ReadonlyMap<string, Float64Array>, a: Precision): Map<number, Tangent> {
  const r = rounding(a);
  const at = (n: FieldNode): FieldNode => resolved(n, true);
  const tangents = new Map<number, Tangent>();
  const tan = (n: FieldNode): Tangent => tangents.get(at(n).id) ?? null;
  const val = (n: FieldNode): Float64Array => values.get(at(n).id)!;
  for (const n of order) {
    let t: Tangent = null;
    switch (n.kind) {
      case 'input':
        t = dir.get(n.name) ?? null;
        break;
      case 'linear': {
        const b = tan(n.arg);
        t = b === null ? null : n.op.apply(b, a);
        break;
      }
      case 'reduce': {
        const b = tan(n.arg);
        t = b === null ? null : reduceForward(n, b, r);
        break;
      }
      case 'map':
        t = mapTangent(n, tan, val, a);
        break;
      case 'block':
        throw new Error(`forward mode: block ${n.label} was not expanded`);
    }
    tangents.set(n.id, t);
  }
  return tangents;
}

/** A map's tangent: sum over its arguments with a tangent of the partial times the tangent, per pixel. */
function mapTangent(n: MapNode, tan: (n: FieldNode) => Tangent, val: (n: FieldNode) => Float64Array, a: Precision): Tangent {
  const moving = Object.keys(n.args).filter((v) => tan(n.args[v]!) !== null);
  if (moving.length === 0) return null;
  const extra = Object.fromEntries(moving.map((v) => [v, { value: tan(n.args[v]!)!, shape: n.args[v]!.shape }]));
  return runMapWith(n, extra, (t) => [add(...moving.map((v) => mul(partialOf(n, v), t[v]!)))], val, a)[0]!;
}

/**
 * Forward mode: the output's value and its tangent in the direction `direction` (by input name;
 * inputs not named do not move), and the values and tangents of the nodes in `at`.
 */
export function forwardTangents(
  output: FieldNode,
  inputs: Readonly<Record<string, Float64Array>>,
  direction: Readonly<Record<string, Float64Array>>,
  opts: TangentOptions = {},
): TangentResult {
  const arith = opts.arith ?? 'float64';
  const { order, values } = forwardValues(output, inputs, arith);
  const tangents = tangentPass(order, values, inputTangents(order, direction, arith), computedIn(arith));
  const ids = new Set(order.map((n) => n.id));
  const field = (n: FieldNode): { value: Float64Array; tangent: Float64Array } => {
    const id = resolved(n, true).id;
    if (!ids.has(id)) throw new Error(`forward mode: node ${n.label} is not in the graph of the output`);
    const t = tangents.get(id) ?? null;
    return { value: values.get(id)!, tangent: stored(arith, t ?? new Float64Array(sizeOf(n.shape))) };
  };
  const out = field(output);
  const atValues = new Map<number, Float64Array>();
  const atTangents = new Map<number, Float64Array>();
  for (const n of opts.at ?? []) {
    const f = field(n);
    atValues.set(n.id, f.value);
    atTangents.set(n.id, f.tangent);
  }
  return { value: out.value, tangent: out.tangent, values: atValues, tangents: atTangents };
}

export interface HvpOptions {
  /** The inputs whose gradient and Hessian-vector product are returned (the rows of the Hessian). */
  readonly wrt: readonly string[];
  readonly arith?: Arithmetic;
  /**
   * The adjoint program to differentiate (adjointProgram of this output with every block expanded,
   * perhaps rewritten: a known mistake's second order), in place of the exact one; it says `wrt`.
   */
  readonly program?: AdjointProgram;
  /**
   * The map steps whose partial is held constant along the direction (its second partials left
   * out: a known mistake's second order, the checker's); default none.
   */
  readonly dropSecond?: (s: Step) => boolean;
  /** Also return every adjoint's tangent by node id (a derivation document checks its forward-over-reverse equations against them). */
  readonly record?: boolean;
}

/** What second order gives: the value, the gradient and the Hessian-vector product with respect to each input of `wrt`. */
export interface HvpResult {
  readonly value: Float64Array;
  readonly grads: Readonly<Record<string, Float64Array>>;
  readonly hvps: Readonly<Record<string, Float64Array>>;
  /** With `record`: the tangent of every node's adjoint reverse mode reached, by node id (zeros where it does not move). */
  readonly adjointTangents?: ReadonlyMap<number, Float64Array>;
}

/**
 * The Hessian of the (scalar) output times the direction `direction` (by input name; inputs not
 * named do not move), for each input of `wrt`: forward mode over the adjoint program. With
 * direction over x alone and wrt x this is H_xx v; over x and y, (H_xx v_x + H_xy v_y, ...).
 */
export function hessianVector(
  output: FieldNode,
  inputs: Readonly<Record<string, Float64Array>>,
  direction: Readonly<Record<string, Float64Array>>,
  opts: HvpOptions,
): HvpResult {
  const arith = opts.arith ?? 'float64';
  const a = computedIn(arith);
  const r = rounding(a);
  const program = opts.program ?? adjointProgram(output, { wrt: opts.wrt, expand: true });
  if (opts.program !== undefined && opts.program.output !== output) throw new Error('hessianVector: the program is not of this output');
  if (opts.program !== undefined && opts.wrt.join() !== program.wrt.join()) throw new Error('hessianVector: wrt differs from the program\'s');
  if (program.order.some((n) => n.kind === 'block')) throw new Error('hessianVector: the program must walk every block as its fine graph (expand: true)');
  if (sizeOf(program.root.shape) !== 1) throw new Error(`hessianVector: needs a scalar output, got shape [${program.root.shape}]`);
  const { values } = forwardValues(output, inputs, arith);
  const order = program.order;
  const tangents = tangentPass(order, values, inputTangents(order, direction, arith), a);
  const at = (n: FieldNode): FieldNode => resolved(n, true);
  const val = (n: FieldNode): Float64Array => values.get(at(n).id)!;
  const tan = (n: FieldNode): Tangent => tangents.get(at(n).id) ?? null;

  // adjoints and their tangents, by node id (a zero tangent is null)
  const bars = new Map<number, Float64Array>();
  const dbars = new Map<number, Tangent>();
  const accumulate = (into: Map<number, Float64Array>, id: number, c: Float64Array): void => {
    const prev = into.get(id);
    if (prev === undefined) into.set(id, a === 'float32' ? c.map(r) : c.slice());
    else for (let i = 0; i < prev.length; i++) prev[i] = r(prev[i]! + c[i]!);
  };
  bars.set(program.root.id, Float64Array.of(program.seed));
  const recorded = opts.record === true ? new Map<number, Float64Array>() : undefined;
  const steps = program.steps;
  for (let k = 0; k < steps.length; ) {
    const s = steps[k]!;
    let end = k + 1;
    while (end < steps.length && steps[end]!.from === s.from) end++;
    const bar = bars.get(s.from.id);
    const dbar = (dbars.get(s.from.id) as Tangent | undefined) ?? null;
    if (bar !== undefined) {
      for (const step of steps.slice(k, end)) {
        const c = stepValue(step, bar, val, a);
        if (c !== null) accumulate(bars, step.to.id, c);
        const dc = stepTangent(step, bar, dbar, val, opts.dropSecond?.(step) === true ? () => null : tan, a);
        if (dc !== null) {
          const into = dbars as Map<number, Float64Array>;
          accumulate(into, step.to.id, dc);
        }
      }
      if (recorded !== undefined) recorded.set(s.from.id, dbar?.slice() ?? new Float64Array(bar.length));
      if (s.from.kind !== 'input') {
        bars.delete(s.from.id);
        dbars.delete(s.from.id);
      }
    }
    k = end;
  }
  const grads: Record<string, Float64Array> = {};
  const hvps: Record<string, Float64Array> = {};
  for (const name of program.wrt) {
    const node = order.find((n) => n.kind === 'input' && n.name === name);
    if (node === undefined) throw new Error(`hessianVector: the graph has no input ${name}`);
    const size = sizeOf(node.shape);
    grads[name] = stored(arith, bars.get(node.id) ?? new Float64Array(size));
    hvps[name] = stored(arith, dbars.get(node.id) ?? new Float64Array(size));
    recorded?.set(node.id, hvps[name]);
  }
  return { value: values.get(program.root.id)!, grads, hvps, ...(recorded === undefined ? {} : { adjointTangents: recorded }) };
}

/**
 * The tangent of what one step hands its argument, for its node's adjoint `bar` and the adjoint's
 * tangent `dbar`: the rule applied to dbar where the rule is linear in the adjoint (every rule but
 * a map's partial), and for a partial p also bar times p's derivative in the direction.
 */
function stepTangent(
  s: Step,
  bar: Float64Array,
  dbar: Tangent,
  val: (n: FieldNode) => Float64Array,
  tan: (n: FieldNode) => Tangent,
  a: Precision,
): Tangent {
  const rule: StepRule = s.rule;
  if (rule.kind === 'unit') throw new Error(`hessianVector: block ${s.from.label} runs on kernels; second order walks its fine graph`);
  if (rule.kind !== 'partial') return dbar === null ? null : stepValue(s, dbar, val, a);
  const n = s.from as MapNode;
  const names = Object.keys(n.args);
  const moving = names.filter((u) => tan(n.args[u]!) !== null);
  if (dbar === null && moving.length === 0) return null;
  const second = partialsOf(rule.partial, names);
  const extra: Record<string, { value: Float64Array; shape: typeof n.shape }> = { bar: { value: bar, shape: barShapeOf(bar, n) } };
  if (dbar !== null) extra.dbar = { value: dbar, shape: barShapeOf(dbar, n) };
  for (const u of moving) extra[`t_${u}`] = { value: tan(n.args[u]!)!, shape: n.args[u]!.shape };
  const out = runMapWith(
    n,
    extra,
    (f) => {
      const terms: Node[] = [];
      if (dbar !== null) terms.push(mul(f.dbar!, rule.partial));
      const inner = moving.map((u) => mul(second[names.indexOf(u)]!, f[`t_${u}`]!));
      if (inner.length > 0) terms.push(mul(f.bar!, add(...inner)));
      return [add(...terms)];
    },
    val,
    a,
  )[0]!;
  return reduceToShape(out, n.shape, s.to.shape, a);
}

/** The shape an adjoint of a map is read with: the map's, or a scalar broadcast (the seed of a scalar map). */
const barShapeOf = (bar: Float64Array, n: MapNode): MapNode['shape'] => (bar.length === sizeOf(n.shape) ? n.shape : [1, 1, 1, 1]);
