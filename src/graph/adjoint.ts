/**
 * Reverse mode as data: the adjoint program of a field graph. For an output, the inputs wanted
 * and the choice of which blocks run as their fine graph, the program lists the steps of the
 * chain rule in reverse order, each handing the adjoint of one node to one of its arguments by a
 * rule:
 *
 *   linear  a = A b         ->  b_bar += A^T a_bar          ('transpose': the spec's, src/graph/linear.ts)
 *   map     a = f(b, c, ..) ->  b_bar += a_bar * df/db     ('partial': the variable and its partial, summed over broadcast dimensions)
 *   reduce  a = mean(b)     ->  b_bar += a_bar / count     ('count': how and the count; a sum's is 1)
 *   block   a = <F>(x, y)   ->  x_bar += a_bar (.) d a/dx   ('unit': the block's unit-adjoint gradient, scaled plane by plane)
 *
 * and the output's adjoint to start from (the seed, 1). `adjointProgram` writes these rules once,
 * one per node kind; `runProgram` runs a program, one rule per step kind; the evaluator
 * (src/graph/evaluate.ts) does both, the derivation documents print a program, the checker's
 * pieces and tracers read its steps, and a known mistake is a rewrite of a program
 * (`rewriteProgram`: which steps, and the rule each takes instead, or none), run like any other.
 * The rules only mistakes use (the forward in place of the transpose, the per-pixel rule, a
 * region's adjoint spread) are listed with the exact ones, so that a rewritten program is still
 * data that says what it does.
 */
import { crop, rounding, sizeOf, type LinearOp, type Precision, type Shape4 } from '../field/index.js';
import type { Node } from '../expr/index.js';
import type { LinearSpec } from './linear.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode, type MapNode, type Reduction } from './node.js';
import { partialOf, reduceToShape, runPartials } from './pointwise.js';

/** How one step hands the adjoint of its node to one argument. */
export type StepRule =
  /** arg_bar += scale A^T bar, A the operator of `spec` (the node's own; a mistake: another boundary's, or scaled). */
  | { readonly kind: 'transpose'; readonly spec: LinearSpec; readonly op: LinearOp; readonly scale?: number }
  /** arg_bar += A bar: the forward in place of its transpose (a mistake; A maps a grid to itself). */
  | { readonly kind: 'forward'; readonly spec: LinearSpec; readonly op: LinearOp }
  /** arg_bar += (A^T 1) (.) bar placed on the argument's grid: the per-pixel chain rule (a mistake). */
  | { readonly kind: 'perPixel'; readonly spec: LinearSpec; readonly op: LinearOp }
  /** arg_bar += factor times each plane's adjoint (its first value) over the whole plane of the argument (a mistake: a region's mean taken over the uncropped map). */
  | { readonly kind: 'spread'; readonly factor: number }
  /** arg_bar += bar * partial, summed over the dimensions the argument broadcasts along; `variable` names the argument. */
  | { readonly kind: 'partial'; readonly variable: string; readonly partial: Node }
  /** arg_bar += bar / count, bar broadcast over everything ('mean', 'sum') or over each plane. */
  | { readonly kind: 'count'; readonly how: Reduction; readonly count: number }
  /** arg_bar += the block's gradient wrt its image for a unit adjoint, each plane times bar's. */
  | { readonly kind: 'unit'; readonly image: 'x' | 'y' };

export type StepKind = StepRule['kind'];

/** One step of reverse mode: node `from` hands its adjoint to its argument `to` (via: the map variable, 'arg', or a block's 'x' / 'y'). */
export interface Step {
  readonly from: FieldNode;
  /** The argument as the program sees it (a block stands for its fine graph's output when expanded). */
  readonly to: FieldNode;
  readonly via: string;
  readonly rule: StepRule;
}

export interface AdjointProgram {
  /** The output as given, and as the program sees it. */
  readonly output: FieldNode;
  readonly root: FieldNode;
  /** Names of the inputs differentiated for. */
  readonly wrt: readonly string[];
  /** Which blocks are walked as their fine graph. */
  readonly expand: (b: BlockNode) => boolean;
  /** The nodes, arguments before users (blocks expanded as `expand` says): the forward pass's order. */
  readonly order: readonly FieldNode[];
  /** Ids of the nodes reverse mode gives an adjoint (every node with `every`, else those leading to a wanted input). */
  readonly leads: ReadonlySet<number>;
  /** The output's adjoint. */
  readonly seed: number;
  /** The steps, in the order reverse mode takes them (users before arguments; a node's steps together, in argument order). */
  readonly steps: readonly Step[];
}

export interface ProgramOptions {
  readonly wrt: readonly string[];
  /** Walk blocks' fine graphs (all, none, or those it returns true for). */
  readonly expand: boolean | ((b: BlockNode) => boolean);
  /** Every edge, not only those leading to a wanted input (what a record of every adjoint needs). */
  readonly every?: boolean;
  /** Counts that replace a reduce node's own (by id): a tile evaluated with the whole images' counts. */
  readonly counts?: ReadonlyMap<number, number>;
}

/** The count a reduce node divides by in reverse mode, for its argument's shape. */
export const reduceCount = (how: Reduction, shape: Shape4): number =>
  how === 'mean' ? sizeOf(shape) : how === 'planeMean' ? sizeOf(shape) / (shape[0] * shape[1]) : 1;

/** The exact steps out of one node, by its kind: reverse mode's rule for each kind, written once. */
function stepsOf(n: FieldNode, wanted: (g: FieldNode) => boolean, at: (g: FieldNode) => FieldNode, counts: ReadonlyMap<number, number> | undefined): Step[] {
  const step = (to: FieldNode, via: string, rule: StepRule): Step => ({ from: n, to: at(to), via, rule });
  switch (n.kind) {
    case 'input':
      return [];
    case 'linear':
      return wanted(n.arg) ? [step(n.arg, 'arg', { kind: 'transpose', spec: n.spec, op: n.op })] : [];
    case 'map':
      return Object.keys(n.args)
        .filter((v) => wanted(n.args[v]!))
        .map((v) => step(n.args[v]!, v, { kind: 'partial', variable: v, partial: partialOf(n, v) }));
    case 'reduce':
      return wanted(n.arg) ? [step(n.arg, 'arg', { kind: 'count', how: n.how, count: counts?.get(n.id) ?? reduceCount(n.how, n.arg.shape) })] : [];
    case 'block':
      return [
        ...(wanted(n.x) ? [step(n.x, 'x', { kind: 'unit', image: 'x' } as const)] : []),
        ...(wanted(n.y) ? [step(n.y, 'y', { kind: 'unit', image: 'y' } as const)] : []),
      ];
  }
}

/** The adjoint program of `output` (a scalar where it is run from its seed). */
export function adjointProgram(output: FieldNode, opts: ProgramOptions): AdjointProgram {
  const e = opts.expand;
  const expand = typeof e === 'function' ? e : (): boolean => e;
  const order = topoOrder([output], expand);
  const at = (n: FieldNode): FieldNode => resolved(n, expand);
  const every = opts.every === true;
  const wrt = opts.wrt;
  const leads = new Set<number>();
  for (const n of order) {
    if (every || (n.kind === 'input' && wrt.includes(n.name)) || argsOf(n).some((g) => leads.has(at(g).id))) leads.add(n.id);
  }
  const wanted = (n: FieldNode): boolean => leads.has(at(n).id);
  const steps: Step[] = [];
  if (wrt.length > 0) for (let k = order.length - 1; k >= 0; k--) if (leads.has(order[k]!.id)) steps.push(...stepsOf(order[k]!, wanted, at, opts.counts));
  return { output, root: at(output), wrt, expand, order, leads, seed: 1, steps };
}

/** A change to reverse mode: the steps it matches take another rule, or are left out (null). */
export interface StepRewrite {
  readonly match: (s: Step) => boolean;
  readonly replace: (s: Step) => StepRule | null;
}

/** A rewrite of a program (a known mistake): step rewrites applied in turn, and another seed. */
export interface ProgramRewrite {
  readonly steps?: readonly StepRewrite[];
  readonly seed?: number;
}

/** The program with the rewrite applied. */
export function rewriteProgram(p: AdjointProgram, r: ProgramRewrite): AdjointProgram {
  let steps: readonly Step[] = p.steps;
  for (const w of r.steps ?? []) {
    const next: Step[] = [];
    for (const s of steps) {
      if (!w.match(s)) next.push(s);
      else {
        const rule = w.replace(s);
        if (rule !== null) next.push({ ...s, rule });
      }
    }
    steps = next;
  }
  return { ...p, steps, seed: r.seed ?? p.seed };
}

/** What reached one argument from one node in reverse mode. */
export interface Contribution {
  readonly from: FieldNode;
  readonly to: FieldNode;
  /** The map variable, or the linear/reduce node's only argument ('arg'), or a block's 'x' / 'y'. */
  readonly via: string;
  readonly value: Float64Array;
  /** The step that made it. */
  readonly step: Step;
}

export interface RunOptions {
  readonly arith: Precision;
  /** The blocks' gradients for a unit adjoint (the forward pass's kernel runs), by block id. */
  readonly unit?: ReadonlyMap<number, { readonly gradX: Float64Array | null; readonly gradY: Float64Array | null }>;
  /** Adjoints to start from in place of the seed at the output: reverse mode from inner nodes. */
  readonly seeds?: ReadonlyArray<readonly [FieldNode, Float64Array]>;
  /** Keep every adjoint and every contribution. */
  readonly record?: boolean;
}

export interface ProgramRun {
  /** Adjoints by node id: the inputs' (and with `record` every node's). */
  readonly adjoints: Map<number, Float64Array>;
  readonly contributions: Contribution[];
}

/**
 * Runs a program on the forward values (by node id, as the program sees the nodes): each step's
 * rule applied to its node's adjoint, added into its argument's. Without `record` a node's adjoint
 * is let go once its steps have run.
 */
export function runProgram(p: AdjointProgram, values: ReadonlyMap<number, Float64Array>, opts: RunOptions): ProgramRun {
  const a = opts.arith;
  const r = rounding(a);
  const keep = opts.record === true;
  const val = (n: FieldNode): Float64Array => {
    const v = values.get(resolved(n, p.expand).id);
    if (v === undefined) throw new Error(`runProgram: no forward value for node ${n.label}`);
    return v;
  };
  const adjoints = new Map<number, Float64Array>();
  const contributions: Contribution[] = [];
  const give = (s: Step, c: Float64Array): void => {
    if (keep) contributions.push({ from: s.from, to: s.to, via: s.via, value: c, step: s });
    const prev = adjoints.get(s.to.id);
    if (prev === undefined) adjoints.set(s.to.id, a === 'float32' ? c.map(r) : c.slice());
    else for (let i = 0; i < prev.length; i++) prev[i] = r(prev[i]! + c[i]!);
  };
  if (opts.seeds === undefined) {
    if (sizeOf(p.root.shape) !== 1) throw new Error(`evaluateGraph: the gradient needs a scalar output, got shape [${p.root.shape}]`);
    adjoints.set(p.root.id, Float64Array.of(p.seed));
  } else for (const [n, v] of opts.seeds) adjoints.set(resolved(n, p.expand).id, v.slice());
  const steps = p.steps;
  for (let k = 0; k < steps.length; ) {
    const s = steps[k]!;
    // a node's steps are consecutive: run them, then let its adjoint go
    let end = k + 1;
    while (end < steps.length && steps[end]!.from === s.from) end++;
    const bar = adjoints.get(s.from.id);
    if (bar !== undefined) {
      runSteps(steps.slice(k, end), bar, val, give, a, opts.unit);
      if (!keep && s.from.kind !== 'input') adjoints.delete(s.from.id);
    }
    k = end;
  }
  return { adjoints, contributions };
}

/** The steps out of one node, applied to its adjoint: one rule per step kind (a map's partials in one loop). */
function runSteps(
  steps: readonly Step[],
  bar: Float64Array,
  val: (n: FieldNode) => Float64Array,
  give: (s: Step, c: Float64Array) => void,
  a: Precision,
  unit: RunOptions['unit'],
): void {
  const partials = steps.filter((s) => s.rule.kind === 'partial');
  if (partials.length > 0) {
    const n = partials[0]!.from as MapNode;
    const parts = runPartials(n, partials.map((s) => (s.rule as Extract<StepRule, { kind: 'partial' }>).partial), bar, val, a);
    partials.forEach((s, i) => give(s, reduceToShape(parts[i]!, n.shape, s.to.shape, a)));
  }
  for (const s of steps) {
    const rule = s.rule;
    switch (rule.kind) {
      case 'partial':
        break;
      case 'transpose': {
        const t = rule.op.transpose(bar, a);
        give(s, rule.scale === undefined ? t : t.map((u) => u * rule.scale!));
        break;
      }
      case 'forward':
        give(s, rule.op.apply(bar, a));
        break;
      case 'perPixel': {
        const wt1 = rule.op.transpose(new Float64Array(sizeOf(s.from.shape)).fill(1), a);
        const g = onInputGrid(s.from.shape, s.to.shape, bar);
        give(s, wt1.map((w, p) => w * g[p]!));
        break;
      }
      case 'spread': {
        const [N, C, MH, MW] = s.to.shape;
        const per = s.from.shape[2] * s.from.shape[3];
        const out = new Float64Array(N * C * MH * MW);
        for (let p = 0; p < N * C; p++) out.fill(rule.factor * bar[p * per]!, p * MH * MW, (p + 1) * MH * MW);
        give(s, out);
        break;
      }
      case 'count': {
        const total = sizeOf(s.to.shape);
        const per = total / (s.to.shape[0] * s.to.shape[1]);
        const all = rule.how === 'mean' || rule.how === 'sum';
        const r = rounding(a);
        const out = new Float64Array(total);
        for (let i = 0; i < total; i++) out[i] = r((all ? bar[0]! : bar[Math.floor(i / per)]!) / rule.count);
        give(s, out);
        break;
      }
      case 'unit': {
        const g = unit?.get(s.from.id);
        const u = g === undefined ? null : rule.image === 'x' ? g.gradX : g.gradY;
        if (u === null) break;
        give(s, scalePlanes(u, bar, s.to.shape, a));
        break;
      }
    }
  }
}

/**
 * What one step hands its argument for the adjoint `bar` of its node, by the same rule runProgram
 * applies (a block's step needs its unit-adjoint gradient in `unit`), or null where it hands nothing.
 */
export function stepValue(s: Step, bar: Float64Array, val: (n: FieldNode) => Float64Array, a: Precision, unit?: RunOptions['unit']): Float64Array | null {
  let out: Float64Array | null = null;
  runSteps([s], bar, val, (_, c) => (out = c), a, unit);
  return out;
}

/** A window's output placed on its input's grid (the centre of each window; 'valid' maps are smaller). */
function onInputGrid(outShape: Shape4, inShape: Shape4, v: Float64Array): Float64Array {
  const [, , H, W] = inShape;
  const [, , MH, MW] = outShape;
  if (MH === H && MW === W) return v;
  const oh = (H - MH) / 2;
  const ow = (W - MW) / 2;
  return crop(inShape, oh, oh, ow, ow).transpose(v);
}

/**
 * A block's vector-Jacobian product from its unit-adjoint gradient: each plane scaled by its
 * adjoint (a 'loss' block has one adjoint for every plane), rounded to float32 in that arithmetic.
 */
export function scalePlanes(unit: Float64Array, bar: Float64Array, shape: Shape4, arith: Precision): Float64Array {
  if (bar.length === 1 && bar[0] === 1) return unit;
  const per = sizeOf(shape) / (shape[0] * shape[1]);
  const r = rounding(arith);
  return unit.map((v, i) => r(v * bar[bar.length === 1 ? 0 : Math.floor(i / per)]!));
}
