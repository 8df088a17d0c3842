/**
 * Derivation steps read off a field graph (src/graph): the forward definition of every node and
 * reverse mode as the one evaluator runs it, its adjoint program (src/graph/adjoint.ts) printed
 * step by step, by the step's rule,
 *
 *   transpose  b_bar += A^T a_bar         (A's symbol and transpose from LINEAR_RULES)
 *   partial    b_bar += df/db (.) a_bar   (the map's partials, printed by src/expr/latex.ts)
 *   count      b_bar += a_bar / count
 *   unit       x_bar += (d a / d x)^T a_bar (a windowed map, derived in its own section)
 *
 * ending in the gradient with respect to each image: an adjoint is the sum of the steps that reach
 * its node, written out in place (inlined) when its node has one user that is not a map of several
 * fields, and named (g_mu, \bar{u}, ...) otherwise. For SSIM this gives W^T g_mu + 2 x (.) W^T g_xx +
 * y (.) W^T g_xy; nothing of it is written by hand.
 *
 * Every equation comes with a mathjs twin, built from the same terms as its LaTeX: partials are
 * printed as infix over their arguments' values at a sample pixel, and a linear operator as a
 * scope function named by its symbol (`WT(k)` for W^T, `W(k)` for W) that applies the operator of
 * the table to the field the term computes. The twins are checked against the evaluator's values
 * and adjoints (recorded over the fine graph) and against its fused gradient.
 */
import { dagSize, evaluate, substitute, toInfix, topoSort, variable, type Node } from '../expr/index.js';
import { mathjsScope } from '../expr/mathjs.js';
import { toLatex, type LatexNames } from '../expr/latex.js';
import { sizeOf, type Shape4 } from '../field/index.js';
import { adjointProgram, scalePlanes, stepValue, type AdjointProgram, type Step, type StepRule } from '../graph/adjoint.js';
import { evaluateGraph, type GraphResult } from '../graph/evaluate.js';
import { expand } from '../graph/pointwise.js';
import { runBlockKernel } from '../runtime/blocks.js';
import { LINEAR_RULES } from '../graph/linear.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode, type ReduceNode } from '../graph/node.js';
import { pointwiseSsim } from '../model/pointwise.js';
import type { Equation } from './model.js';

/** Samples whose scope also holds the functions the printer's infix uses (step, relu). */
export const withFunctions = (samples: Equation['samples']): Equation['samples'] => () =>
  samples().map((s) => ({ ...s, scope: { ...(mathjsScope as unknown as Record<string, number>), ...s.scope } }));

/** LaTeX of the scalar graph's variables. */
export const VAR_TEX: Record<string, string> = {
  mu_x: '\\mu_x', mu_y: '\\mu_y', m_xx: 'm_{xx}', m_yy: 'm_{yy}', m_xy: 'm_{xy}', C1: 'C_1', C2: 'C_2', c_n: 'c_n',
};
/** LaTeX of S's named intermediates (src/ssim/pointwise.ts). */
export const NAMED_TEX: Record<string, string> = {
  var_x: '\\sigma_x^2', var_y: '\\sigma_y^2', cov: '\\sigma_{xy}', A1: 'A_1', B1: 'B_1', A2: 'A_2', B2: 'B_2', S: 'S',
};

/** Names of field nodes by label (the moments SSIM's graph builds, its products, downsampled images). */
const LABEL_TEX: Record<string, string> = {
  ...VAR_TEX, xx: 'p_{xx}', yy: 'p_{yy}', xy: 'p_{xy}', x_D: "x'", y_D: "y'",
};
/** Adjoints with names of their own: the window moments' are the g of the familiar formula. */
const ADJOINT_TEX: Record<string, string> = {
  mu_x: 'g_{\\mu_x}', mu_y: 'g_{\\mu_y}', m_xx: 'g_{xx}', m_yy: 'g_{yy}', m_xy: 'g_{xy}',
};
/** Labels the graph kit gives by default: such nodes are named u_1, u_2, ... */
const GENERIC = new Set(['map', 'add', 'sub', 'mul', 'div', 'affine', 'mean', 'sum', 'planeMean', 'planeSum', 'W', 'pool', 'crop', 'channels', 'downsample', 'window']);

/**
 * A term of an adjoint as the program makes it: the seed, a named adjoint, one step of the
 * program applied to the adjoint of its node (itself a term where that adjoint is inlined), or
 * the sum of the steps that reach a node.
 */
export type Term =
  | { readonly k: 'seed' }
  | { readonly k: 'adj'; readonly node: FieldNode }
  | { readonly k: 'step'; readonly step: Step; readonly arg: Term }
  | { readonly k: 'sum'; readonly terms: readonly Term[] };

type RuleOf<K extends StepRule['kind']> = Extract<StepRule, { kind: K }>;
/** A step with its rule narrowed, and its node as that rule's kind of node. */
type LinearStep = Step & { readonly from: LinearNode; readonly rule: RuleOf<'transpose'> };
type PartialStep = Step & { readonly from: MapNode; readonly rule: RuleOf<'partial'> };
type CountStep = Step & { readonly from: ReduceNode; readonly rule: RuleOf<'count'> };
type UnitStep = Step & { readonly from: BlockNode; readonly rule: RuleOf<'unit'> };
/** The step of a term, by what the documents print (an exact program's rules only). */
function stepOf(s: Step): { k: 'T'; s: LinearStep } | { k: 'scale'; s: PartialStep } | { k: 'reduce'; s: CountStep } | { k: 'block'; s: UnitStep } {
  switch (s.rule.kind) {
    case 'transpose':
      if (s.rule.scale === undefined) return { k: 'T', s: s as LinearStep };
      break;
    case 'partial':
      return { k: 'scale', s: s as PartialStep };
    case 'count':
      return { k: 'reduce', s: s as CountStep };
    case 'unit':
      return { k: 'block', s: s as UnitStep };
    default:
      break;
  }
  throw new Error(`graph-doc: a derivation prints the exact program; this step (${s.from.label} -> ${s.to.label}) has the rule ${s.rule.kind}`);
}

/** A term as the printers read it: a step by its rule, with the node and what the rule says. */
export type View =
  | { readonly k: 'seed' }
  | { readonly k: 'adj'; readonly node: FieldNode }
  | { readonly k: 'sum'; readonly terms: readonly Term[] }
  | { readonly k: 'T'; readonly step: Step; readonly node: LinearNode; readonly arg: Term }
  | { readonly k: 'scale'; readonly step: Step; readonly node: MapNode; readonly v: string; readonly partial: Node; readonly arg: Term }
  | { readonly k: 'reduce'; readonly step: Step; readonly node: ReduceNode; readonly count: number; readonly arg: Term }
  | { readonly k: 'block'; readonly step: Step; readonly node: BlockNode; readonly which: 'x' | 'y'; readonly arg: Term };
/** A term as the printers read it (a step by its rule). */
export function view(t: Term): View {
  if (t.k !== 'step') return t;
  const v = stepOf(t.step);
  switch (v.k) {
    case 'T':
      return { k: 'T', step: t.step, node: v.s.from, arg: t.arg };
    case 'scale':
      return { k: 'scale', step: t.step, node: v.s.from, v: v.s.rule.variable, partial: v.s.rule.partial, arg: t.arg };
    case 'reduce':
      return { k: 'reduce', step: t.step, node: v.s.from, count: v.s.rule.count, arg: t.arg };
    case 'block':
      return { k: 'block', step: t.step, node: v.s.from, which: v.s.rule.image, arg: t.arg };
  }
}

/** One equation as the writer takes it. */
export interface GraphEquation {
  readonly latex: string;
  readonly twin: string;
  readonly samples: Equation['samples'];
}

export interface GraphDocOptions {
  /** The output (a scalar, or a block's fine-graph output whose adjoint is `seedName`). */
  readonly output: FieldNode;
  /** Walk blocks' fine graphs instead of the blocks. */
  readonly expand: boolean;
  /** The nodes the gradient is taken with respect to (inputs x and y, or a block's images), with their LaTeX. */
  readonly targets: ReadonlyArray<{ node: FieldNode; tex: string }>;
  /** LaTeX of the output's value ('L', '\\mathcal{L}', ...). */
  readonly outputTex: string;
  /** The output's adjoint when it is not 1 (a block inside a larger loss): its LaTeX. */
  readonly seedTex?: string;
  /** Counts of reductions inside a block print as |\Omega|. */
  readonly regionCounts?: boolean;
  /** Leave out the nodes the targets are computed from (a block inside a larger loss). */
  readonly fromTargets?: boolean;
  /** Evaluation on sample images: values and adjoints over the fine graph, and the fused gradient. */
  readonly run: () => SampleRun;
  /** Nodes (by id, as the walk sees them) whose adjoints are named even where they could be written out in place. */
  readonly namedAdjoints?: ReadonlySet<number>;
}

/** The evaluator's results on sample inputs. */
export interface SampleRun {
  /** Unfused, recorded: values and adjoints of every fine-graph node. */
  readonly fine: GraphResult;
  /** Values of the inputs by name. */
  readonly inputs: Readonly<Record<string, Float64Array>>;
}

/** Evaluates `loss` on the inputs, unfused with every value and adjoint recorded. */
export function sampleRun(loss: FieldNode, inputs: Readonly<Record<string, Float64Array>>): SampleRun {
  return { fine: evaluateGraph(loss, inputs, { wrt: ['x', 'y'], fused: false, record: true }), inputs };
}

const texWrap = (t: string): string => `\\left(${t}\\right)`;
const isSum = (t: Term): boolean => t.k === 'sum' && t.terms.length > 1;

/**
 * The derivation of one graph (a loss, or the fine graph of a block): names, forward equations,
 * local partials, reverse-mode steps and the gradients, each with its twin.
 */
export class GraphDoc {
  nodes: FieldNode[];
  /** The adjoint program printed: every edge, blocks walked as `expand` says. */
  readonly program: AdjointProgram;
  /** The steps reaching each node (by id), their nodes in forward order, each node's in argument order. */
  private readonly into = new Map<number, Step[]>();
  private readonly users = new Map<number, Array<FieldNode>>();
  private readonly names = new Map<number, string>();
  private readonly partialNames = new Map<string, string>();
  private readonly exprNames: LatexNames['nodes'];
  private cache: SampleRun | undefined;
  private readonly onPath = new Set<number>();

  constructor(readonly o: GraphDocOptions) {
    this.program = adjointProgram(o.output, { wrt: ['x', 'y'], expand: o.expand, every: true });
    this.nodes = [...this.program.order];
    // the program runs users before arguments: its nodes' groups of steps, reversed, are in forward order
    const groups: Step[][] = [];
    for (const s of this.program.steps) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[0]!.from === s.from) last.push(s);
      else groups.push([s]);
    }
    for (const g of groups.reverse()) for (const s of g) {
      const list = this.into.get(s.to.id) ?? [];
      list.push(s);
      this.into.set(s.to.id, list);
      const us = this.users.get(s.to.id) ?? [];
      if (!us.includes(s.from)) us.push(s.from);
      this.users.set(s.to.id, us);
    }
    const p = pointwiseSsim();
    this.exprNames = new Map(p.named.map(([n, node]) => [node.id, NAMED_TEX[n]!]));
    // the nodes that depend on a target (the only ones with adjoints worth writing)
    const targets = new Set(o.targets.map((t) => this.at(t.node).id));
    for (const n of this.nodes) if (targets.has(n.id) || argsOf(n).some((a) => this.onPath.has(this.at(a).id))) this.onPath.add(n.id);
    // a block's fine graph starts at its images: what comes before them belongs to the loss around it
    if (o.fromTargets === true) this.nodes = this.nodes.filter((n) => this.onPath.has(n.id));
    this.nameNodes();
  }

  /** The node as this walk sees it (a block is its fine graph's output when expanded). */
  at(n: FieldNode): FieldNode {
    return resolved(n, this.o.expand);
  }

  /** u_k names given so far. */
  private unnamed = 0;

  private nameNodes(): void {
    for (const t of this.o.targets) this.names.set(this.at(t.node).id, t.tex);
    this.names.set(this.at(this.o.output).id, this.o.outputTex);
    const base = new Map<number, string>();
    let u = this.unnamed;
    const level = new Map<number, [string, number]>();
    for (const n of this.nodes) {
      if (this.names.has(n.id)) {
        level.set(n.id, [this.names.get(n.id)!, 0]);
        continue;
      }
      let b: string;
      if (n.kind === 'input') b = /^[a-z]$/i.test(n.name) ? n.name : `\\mathrm{${n.name}}`;
      else if (n.kind === 'linear' && (n.spec.kind === 'pool' || n.spec.kind === 'downsample') && level.has(n.arg.id) && n.label !== 'x_D' && n.label !== 'y_D') {
        // an image at the next scale: x^{(j+1)}
        const [stem, l] = level.get(this.at(n.arg).id)!;
        level.set(n.id, [stem, l + 1]);
        this.names.set(n.id, `${stem}^{(${l + 1})}`);
        continue;
      } else if (n.kind === 'block') b = blockTex(n);
      else if (LABEL_TEX[n.label] !== undefined) b = LABEL_TEX[n.label]!;
      else if (n.label === 'region') {
        // the argument's name as given in this loop (nameOf would hand out a u_k before the names are set), grouped under the subscript
        const a = n.kind === 'linear' ? base.get(this.at(n.arg).id) ?? this.names.get(this.at(n.arg).id) ?? this.nameOf(n.arg) : this.nameOf(n);
        b = `${a.includes('_') || a.includes('^') ? `{${a}}` : a}_\\Omega`;
      }
      else if (!GENERIC.has(n.label) && labelTex(n.label) !== undefined) b = labelTex(n.label)!;
      else b = `u_{${++u}}`;
      base.set(n.id, b);
    }
    this.unnamed = u;
    // the same name twice (one per scale): number them
    const counts = new Map<string, number>();
    for (const b of base.values()) counts.set(b, (counts.get(b) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const n of this.nodes) {
      const b = base.get(n.id);
      if (b === undefined) continue;
      if ((counts.get(b) ?? 0) > 1) {
        const k = (seen.get(b) ?? 0) + 1;
        seen.set(b, k);
        this.names.set(n.id, `${b}^{(${k})}`);
      } else this.names.set(n.id, b);
    }
  }

  /** LaTeX of a node's value. */
  nameOf(n: FieldNode): string {
    const id = this.at(n).id;
    let name = this.names.get(id);
    // a node outside this walk (a section's images come from the loss's graph): the next free u_k,
    // never its id, which depends on what the process built before
    if (name === undefined) this.names.set(id, (name = `u_{${++this.unnamed}}`));
    return name;
  }

  /**
   * Runs `f` with some nodes (by id) named otherwise, then gives every name back: a section checks
   * that two of its equations are one equation with the names exchanged by printing the second
   * under the first's names.
   */
  withNames<T>(names: ReadonlyMap<number, string>, f: () => T): T {
    const saved = new Map(this.names);
    const partials = new Map(this.partialNames);
    const unnamed = this.unnamed;
    for (const [id, name] of names) this.names.set(id, name);
    this.partialNames.clear();
    try {
      return f();
    } finally {
      this.names.clear();
      for (const [id, name] of saved) this.names.set(id, name);
      this.partialNames.clear();
      for (const [k, name] of partials) this.partialNames.set(k, name);
      this.unnamed = unnamed;
    }
  }

  /** LaTeX of a node's adjoint. */
  adjointOf(n: FieldNode): string {
    const m = this.at(n);
    if (m.id === this.at(this.o.output).id && this.o.seedTex !== undefined) return this.o.seedTex;
    const own = ADJOINT_TEX[m.label];
    const name = this.nameOf(m);
    if (own !== undefined) {
      const sup = /\^\{\(\d+\)\}$/.exec(name);
      return sup === null ? own : `${own}${sup[0]}`;
    }
    return `\\overline{${name}}`;
  }

  /** Whether a node depends on a target (has an adjoint to write). */
  onPathOf(n: FieldNode): boolean {
    return this.onPath.has(this.at(n).id);
  }

  /** The partial reverse mode takes for a map's variable: its step's in the program. */
  partialFor(n: MapNode, v: string): Node {
    const s = this.program.steps.find((t) => t.from === this.at(n) && t.rule.kind === 'partial' && t.rule.variable === v);
    if (s === undefined || s.rule.kind !== 'partial') throw new Error(`graph-doc: the program has no step through ${v} of ${n.label}`);
    return s.rule.partial;
  }

  /** An argument's value at element q of the map's (broadcast) shape. */
  valueAt(a: FieldNode, n: MapNode, q: number): number {
    return expand(this.valueOf(a), a.shape, n.shape)[q]!;
  }

  /** A pointwise expression of a map's variables at element q. */
  partialValue(n: MapNode, p: Node, q: number): number {
    const env: Record<string, number> = { ...n.consts };
    for (const [v, a] of Object.entries(n.args)) env[v] = this.valueAt(a, n, q);
    return evaluate(p, env);
  }

  /** What a block hands one of its images, as the evaluator computes it (kernels, or the recorded fine graph). */
  blockGradient(b: BlockNode, which: 'x' | 'y'): Float64Array {
    const g = runBlockKernelOrFine(this, b, this.adjointValue(b));
    return which === 'x' ? g.x : g.y;
  }

  usersOf(n: FieldNode): FieldNode[] {
    return (this.users.get(this.at(n).id) ?? []).filter((u) => this.onPath.has(this.at(u).id));
  }

  /** Whether a node's adjoint is written out where it is used rather than named. */
  inlined(n: FieldNode): boolean {
    const m = this.at(n);
    if (m.id === this.at(this.o.output).id || this.o.namedAdjoints?.has(m.id) === true) return false;
    const us = this.usersOf(m);
    if (us.length !== 1) return false;
    const u = this.at(us[0]!);
    return !(u.kind === 'map' && Object.keys(u.args).length > 1);
  }

  /** The nodes whose adjoints are named, in the order reverse mode reaches them (output first, targets excluded). */
  namedAdjoints(): FieldNode[] {
    const targets = new Set(this.o.targets.map((t) => this.at(t.node).id));
    const pos = new Map(this.nodes.map((n, i) => [n.id, i] as const));
    const reached = (n: FieldNode): number => Math.max(...this.usersOf(n).map((u) => pos.get(this.at(u).id)!));
    return this.nodes
      .filter((n) => this.onPath.has(n.id) && !targets.has(n.id) && n.id !== this.at(this.o.output).id && n.kind !== 'input' && !this.inlined(n))
      .sort((a, b) => reached(b) - reached(a) || pos.get(a.id)! - pos.get(b.id)!);
  }

  private ref(n: FieldNode): Term {
    const m = this.at(n);
    if (m.id === this.at(this.o.output).id) return this.o.seedTex === undefined ? { k: 'seed' } : { k: 'adj', node: m };
    return this.inlined(m) ? this.adjointTerm(m) : { k: 'adj', node: m };
  }

  /** The adjoint of a node as the sum of the program's steps that reach it (from nodes on the path). */
  adjointTerm(n: FieldNode): Term {
    const m = this.at(n);
    const terms: Term[] = (this.into.get(m.id) ?? []).filter((s) => this.onPath.has(s.from.id)).map((step) => ({ k: 'step', step, arg: this.ref(step.from) }));
    return terms.length === 1 ? terms[0]! : { k: 'sum', terms };
  }

  // ---- printing ----

  /** LaTeX names for a map's expression: its variables by their argument fields, its constants by symbol. */
  mapNames(u: MapNode): LatexNames {
    const vars: Record<string, string> = {};
    // a name with a superscript of its own (x^{(4)}) is grouped, so that a power of it is not a double superscript
    for (const [v, a] of Object.entries(u.args)) vars[v] = ((t) => (t.includes('^') ? `{${t}}` : t))(this.nameOf(a));
    for (const c of Object.keys(u.consts)) vars[c] = VAR_TEX[c] ?? c;
    return { vars, nodes: this.exprNames };
  }

  /** A partial printed in place when small, else by its name d u / d v (given in the local partials). */
  partialTex(u: MapNode, v: string, p: Node): string {
    if (!this.bigPartial(p)) return toLatex(p, this.mapNames(u));
    return this.partialName(u, v);
  }

  bigPartial(p: Node): boolean {
    return dagSize([p]) > 8;
  }

  partialName(u: MapNode, v: string): string {
    const key = `${this.at(u).id}|${v}`;
    const hit = this.partialNames.get(key);
    if (hit !== undefined) return hit;
    const top = this.nameOf(u);
    const name = `\\frac{\\partial ${/^[A-Za-z]$/.test(top) ? top : `\\, ${top}`}}{\\partial ${this.nameOf(u.args[v]!)}}`;
    this.partialNames.set(key, name);
    return name;
  }

  /** LaTeX of a term. */
  tex(term: Term): string {
    const t = view(term);
    switch (t.k) {
      case 'seed':
        return '1';
      case 'adj':
        return this.adjointOf(t.node);
      case 'sum':
        return t.terms.map((s) => this.tex(s)).join(' + ');
      case 'T': {
        const rule = LINEAR_RULES[t.node.spec.kind];
        const arg = this.tex(t.arg);
        return `${rule.symbol}^\\top ${isSum(t.arg) ? texWrap(arg) : arg}`;
      }
      case 'reduce': {
        const arg = t.arg.k === 'seed' ? '' : ` ${isSum(t.arg) ? texWrap(this.tex(t.arg)) : this.tex(t.arg)}`;
        if (t.node.how === 'sum' || t.node.how === 'planeSum') return arg === '' ? '1' : arg.trim();
        return `\\frac{1}{${this.countTex(t.node)}}${arg}`;
      }
      case 'scale': {
        const p = this.partialTex(t.node, t.v, t.partial);
        const pw = t.partial.op === 'add' && !this.bigPartial(t.partial) ? texWrap(p) : p;
        if (t.arg.k === 'seed') return p;
        const arg = isSum(t.arg) ? texWrap(this.tex(t.arg)) : this.tex(t.arg);
        if (t.partial.op === 'const') return t.partial.value === 1 ? arg : `${pw} \\, ${arg}`;
        return `${pw} \\odot ${arg}`;
      }
      case 'block': {
        const d = `\\frac{\\partial ${this.nameOf(t.node)}}{\\partial ${this.nameOf(t.which === 'x' ? t.node.x : t.node.y)}}`;
        if (t.arg.k === 'seed') return d;
        const arg = isSum(t.arg) ? texWrap(this.tex(t.arg)) : this.tex(t.arg);
        // a scalar's gradient times its adjoint; a per-plane block's Jacobian transposed
        return t.node.reduce === 'loss' ? `${arg} \\, ${d}` : `\\left(${d}\\right)^{\\!\\top} ${arg}`;
      }
    }
  }

  countTex(n: ReduceNode): string {
    if (this.o.regionCounts === true) return '|\\Omega|';
    const [, , H, W] = this.at(n.arg).shape;
    if (n.how === 'planeMean') return 'N_p';
    return H === 1 && W === 1 ? 'P' : 'N';
  }

  // ---- numbers ----

  private samples(): SampleRun {
    this.cache ??= this.o.run();
    return this.cache;
  }

  contributions(): GraphResult['contributions'] {
    return this.samples().fine.contributions;
  }

  valueOf(n: FieldNode): Float64Array {
    const s = this.samples();
    const m = resolved(n, true);
    if (m.kind === 'input') return s.inputs[m.name]!;
    const v = s.fine.values.get(m.id);
    if (v === undefined) throw new Error(`graph-doc: no recorded value for ${m.label}`);
    return v;
  }

  adjointValue(n: FieldNode): Float64Array {
    const m = resolved(n, true);
    if (m.id === resolved(this.o.output, true).id && this.o.seedTex === undefined) return Float64Array.of(1);
    return this.samples().fine.adjoints.get(m.id) ?? new Float64Array(sizeOf(m.shape));
  }

  /** The field a term computes (the adjoint it stands for), from the recorded values. */
  field(term: Term): Float64Array {
    const t = view(term);
    switch (t.k) {
      case 'seed':
        return Float64Array.of(1);
      case 'adj':
        return this.adjointValue(t.node);
      case 'sum': {
        const parts = t.terms.map((s) => this.field(s));
        return parts.reduce((a, b) => a.map((v, i) => v + b[i]!));
      }
      case 'T':
      case 'reduce':
      case 'scale':
        // the step's own rule, as reverse mode runs it
        return stepValue(t.step, this.field(t.arg), (n) => this.valueOf(n), 'float64')!;
      case 'block': {
        const b = t.node;
        const g = runBlockKernelOrFine(this, b, this.field(t.arg));
        return t.which === 'x' ? g.x : g.y;
      }
    }
  }

  /**
   * The twin of a term at element q of its field: infix for sums and partials at the top, scope
   * entries for the rest (adjoints by value, operators as functions named by their symbols).
   */
  twin(term: Term, q: number, scope: Record<string, unknown>, fresh: () => string, fields: Array<{ node: LinearNode; arg: Float64Array }> = []): string {
    const t = view(term);
    switch (t.k) {
      case 'seed':
        return '1';
      case 'adj': {
        const k = fresh();
        scope[k] = this.adjointValue(t.node)[q]!;
        return k;
      }
      case 'sum':
        return t.terms.map((s) => this.twin(s, q, scope, fresh, fields)).join(' + ');
      case 'T': {
        const rule = LINEAR_RULES[t.node.spec.kind];
        const fn = `${rule.symbol}T`;
        fields.push({ node: t.node, arg: this.field(t.arg) });
        return `${fn}(${fields.length})`;
      }
      case 'reduce': {
        const shape = this.at(t.node.arg).shape;
        const per = sizeOf(shape) / (shape[0] * shape[1]);
        const at = t.node.how === 'mean' || t.node.how === 'sum' ? 0 : Math.floor(q / per);
        const inner = this.twin(t.arg, at, scope, fresh, fields);
        if (t.node.how === 'sum' || t.node.how === 'planeSum') return inner;
        const k = fresh();
        scope[k] = t.count;
        return `(${inner}) / ${k}`;
      }
      case 'scale': {
        const u = t.node;
        const argShape = this.at(u.args[t.v]!).shape;
        if (argShape.join() !== u.shape.join()) {
          // summed over broadcast dimensions: the number itself
          const k = fresh();
          scope[k] = this.field(term)[q]!;
          return k;
        }
        const prefix = fresh();
        const vars = [...Object.keys(u.args), ...Object.keys(u.consts)];
        const [renamed] = substitute([t.partial], new Map(vars.map((v) => [v, variable(`${prefix}_${v}`)] as const)));
        for (const [v, a] of Object.entries(u.args)) scope[`${prefix}_${v}`] = expand(this.valueOf(a), a.shape, u.shape)[q]!;
        for (const [c, x] of Object.entries(u.consts)) scope[`${prefix}_${c}`] = x;
        const inner = t.arg.k === 'seed' ? '1' : this.twin(t.arg, q, scope, fresh, fields);
        return `(${toInfix(renamed!)}) * (${inner})`;
      }
      case 'block': {
        const b = t.node;
        if (b.map.kernels === null) {
          // no kernels to take the block's gradient for a unit adjoint: the number the evaluator's fine graph gives
          const k = fresh();
          scope[k] = this.field(term)[q]!;
          return k;
        }
        const img = t.which === 'x' ? b.x : b.y;
        const [N, C] = img.shape;
        const plane = b.reduce === 'loss' ? 0 : Math.floor(q / (sizeOf(img.shape) / (N * C)));
        const inner = t.arg.k === 'seed' ? '1' : this.twin(t.arg, plane, scope, fresh, fields);
        const k = fresh();
        // the block's gradient at q for a unit adjoint (per plane: each plane's own)
        const ones = new Float64Array(sizeOf(b.shape)).fill(1);
        const g = runBlockKernelOrFine(this, b, ones);
        scope[k] = (t.which === 'x' ? g.x : g.y)[q]!;
        return `(${inner}) * ${k}`;
      }
    }
  }

  /** An equation `lhs = term` with its twin at the given elements, expected values from `expected`. */
  termEquation(lhs: string, t: Term, at: readonly number[], expected: () => Float64Array): GraphEquation {
    return this.partsEquation([{ lhs, term: t, expected }], at);
  }

  /**
   * One displayed equation of several parts `lhs_k = term_k` side by side. With more than one
   * part, the twin is the list of the parts' twins indexed by `part` (1, 2, ...), and every part
   * is checked at every element.
   */
  partsEquation(parts: ReadonlyArray<{ lhs: string; term: Term; expected: () => Float64Array }>, at: readonly number[]): GraphEquation {
    const counter = { n: 0 };
    let i = 0;
    const texts = parts.map((p) => this.twinText(p.term, () => `t${++i}`, counter));
    const twin = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}][part]`;
    const samples = () => {
      const exps = parts.map((p) => p.expected());
      const n = Math.min(...exps.map((e) => e.length));
      return [...new Set(at.map((q0) => Math.min(q0, n - 1)))].flatMap((q) => {
        let j = 0;
        const scope: Record<string, unknown> = {};
        const fields: Array<{ node: LinearNode; arg: Float64Array }> = [];
        for (const p of parts) this.twin(p.term, q, scope, () => `t${++j}`, fields);
        operatorScope(scope, fields, q);
        return exps.map((e, k) => ({ scope: (parts.length === 1 ? scope : { ...scope, part: k + 1 }) as Record<string, number>, expected: e[q]!, at: q }));
      });
    };
    return { latex: parts.map((p) => `${p.lhs} = ${this.tex(p.term)}`).join(', \\qquad '), twin, samples };
  }

  /** The twin's text, without numbers (the same names twin() gives). */
  twinText(t: Term, fresh: () => string, counter = { n: 0 }): string {
    const go = (term: Term): string => {
      const s = view(term);
      switch (s.k) {
        case 'seed':
          return '1';
        case 'adj':
          return fresh();
        case 'sum':
          return s.terms.map(go).join(' + ');
        case 'T':
          return `${LINEAR_RULES[s.node.spec.kind].symbol}T(${++counter.n})`;
        case 'reduce': {
          const inner = go(s.arg);
          if (s.node.how === 'sum' || s.node.how === 'planeSum') return inner;
          return `(${inner}) / ${fresh()}`;
        }
        case 'scale': {
          const u = s.node;
          if (this.at(u.args[s.v]!).shape.join() !== u.shape.join()) return fresh();
          const prefix = fresh();
          const vars = [...Object.keys(u.args), ...Object.keys(u.consts)];
          const [renamed] = substitute([s.partial], new Map(vars.map((v) => [v, variable(`${prefix}_${v}`)] as const)));
          return `(${toInfix(renamed!)}) * (${s.arg.k === 'seed' ? '1' : go(s.arg)})`;
        }
        case 'block': {
          if (s.node.map.kernels === null) return fresh();
          const inner = s.arg.k === 'seed' ? '1' : go(s.arg);
          return `(${inner}) * ${fresh()}`;
        }
      }
    };
    return go(t);
  }

  /** Pixels to check a field of `shape` at: first, middle, last and two between. */
  static pixels(shape: Shape4): number[] {
    const n = sizeOf(shape);
    return [...new Set([0, Math.floor(n / 7), Math.floor(n / 2), Math.floor((5 * n) / 7) + 1, n - 1].map((q) => Math.min(q, n - 1)))];
  }

  // ---- the sections' equations ----

  /** The forward definition of a node: `name = ...`, with its twin against the recorded value. */
  forward(n: FieldNode): GraphEquation | null {
    const m = this.at(n);
    const lhs = this.nameOf(m);
    const at = GraphDoc.pixels(m.shape);
    const check = (scopeAt: (q: number) => Record<string, unknown>): GraphEquation['samples'] => () =>
      at.map((q) => ({ scope: scopeAt(q) as Record<string, number>, expected: this.valueOf(m)[q]! }));
    switch (m.kind) {
      case 'input':
        return null;
      case 'linear': {
        const rule = LINEAR_RULES[m.spec.kind];
        const fn = rule.symbol;
        return {
          latex: `${lhs} = ${rule.symbol} \\, ${this.nameOf(m.arg)}`,
          twin: `${fn}(1)`,
          samples: check((q) => {
            const scope: Record<string, unknown> = {};
            operatorScope(scope, [{ node: m, arg: this.valueOf(m.arg), forward: true }], q);
            return scope;
          }),
        };
      }
      case 'map': {
        const vars = [...Object.keys(m.args), ...Object.keys(m.consts)];
        const [renamed] = substitute([m.expr], new Map(vars.map((v) => [v, variable(`a_${v}`)] as const)));
        const twin = toInfix(renamed!);
        return {
          latex: `${lhs} = ${toLatex(m.expr, this.mapNames(m))}`,
          twin,
          samples: check((q) => {
            const scope: Record<string, unknown> = {};
            for (const [v, a] of Object.entries(m.args)) scope[`a_${v}`] = expand(this.valueOf(a), a.shape, m.shape)[q]!;
            for (const [c, x] of Object.entries(m.consts)) scope[`a_${c}`] = x;
            return scope;
          }),
        };
      }
      case 'reduce': {
        const arg = this.nameOf(m.arg);
        const count = m.how === 'mean' || m.how === 'planeMean' ? `\\frac{1}{${this.countTex(m)}} ` : '';
        const per = m.how === 'planeMean' || m.how === 'planeSum';
        const latex = per ? `(${lhs})_p = ${count}\\sum_{i \\in p} (${arg})_i` : `${lhs} = ${count}\\sum_{i} (${arg})_i`;
        const twin = m.how === 'mean' || m.how === 'planeMean' ? 'mean(v)' : 'sum(v)';
        return {
          latex,
          twin,
          samples: check((q) => {
            const v = this.valueOf(m.arg);
            const planes = per ? m.shape[0] * m.shape[1] : 1;
            const len = v.length / planes;
            return { v: Array.from(v.subarray(q * len, (q + 1) * len)) };
          }),
        };
      }
      case 'block': {
        const F = labelTex(m.label) ?? `\\mathrm{${m.label}}`;
        const args = `${this.nameOf(m.x)}, ${this.nameOf(m.y)}`;
        const per = m.reduce === 'planes';
        const latex = per ? `(${lhs})_p = \\frac{1}{|\\Omega|} \\sum_{i \\in \\Omega_p} ${F}_i(${args})` : `${lhs} = \\frac{1}{|\\Omega|} \\sum_{i \\in \\Omega} ${F}_i(${args})`;
        return {
          latex,
          twin: 'mean(v)',
          samples: () =>
            at.map((q) => {
              const region = this.valueOf(m.parts.region!);
              const planes = per ? m.shape[0] * m.shape[1] : 1;
              const len = region.length / planes;
              // the fused block's value (the generated kernels), against the fine graph's region
              const fused = m.map.kernels === null ? this.valueOf(m) : runBlockKernel(m, this.valueOf(m.x), this.valueOf(m.y), 'float64', null).value;
              return { scope: { v: Array.from(region.subarray(q * len, (q + 1) * len)) }, expected: fused[q]! };
            }),
        };
      }
    }
  }
}

/**
 * A block's vector-Jacobian product: on its kernels where it has some, else (a map without
 * kernels) what the evaluator's fine graph handed the image, from the recorded contributions.
 */
function runBlockKernelOrFine(doc: GraphDoc, b: BlockNode, bar: Float64Array): { x: Float64Array; y: Float64Array } {
  if (b.map.kernels !== null) {
    const r = runBlockKernel(b, doc.valueOf(b.x), doc.valueOf(b.y), 'float64', { x: true, y: true });
    return { x: scalePlanes(r.gradX!, bar, b.x.shape, 'float64'), y: scalePlanes(r.gradY!, bar, b.y.shape, 'float64') };
  }
  const inside = new Set(topoOrder([b.expanded], true).map((n) => n.id));
  const sum = (to: FieldNode): Float64Array => {
    const target = resolved(to, true).id;
    const out = new Float64Array(sizeOf(to.shape));
    for (const c of doc.contributions()) if (c.to.id === target && inside.has(c.from.id)) for (let i = 0; i < out.length; i++) out[i] = out[i]! + c.value[i]!;
    return out;
  };
  return { x: sum(b.x), y: sum(b.y) };
}

/** LaTeX of a block's value: the mean of its map, <F>. */
export const blockTex = (b: BlockNode): string => `\\langle ${labelTex(b.label) ?? `\\mathrm{${b.label}}`} \\rangle`;

/** LaTeX of a label that is a name (mu_x, S, cs, a-b), or undefined. */
export function labelTex(label: string): string | undefined {
  if (LABEL_TEX[label] !== undefined) return LABEL_TEX[label];
  if (/^[A-Za-z]$/.test(label)) return label;
  if (/^[A-Za-z]_[A-Za-z0-9]+$/.test(label)) return label.replace(/_(\w+)$/, '_{$1}');
  if (/^[A-Za-z]+$/.test(label)) return `\\mathrm{${label}}`;
  if (/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(label)) return `\\text{${label}}`;
  return undefined;
}

/** Scope functions for linear operators by symbol: `WT(k)` applies W's transpose to the k-th field at the sample element, `W(k)` W itself. */
export function operatorScope(scope: Record<string, unknown>, fields: ReadonlyArray<{ node: LinearNode; arg: Float64Array; forward?: boolean }>, q: number): void {
  for (const rule of Object.values(LINEAR_RULES)) {
    scope[`${rule.symbol}T`] = (k: number) => {
      const f = fields[k - 1]!;
      if (LINEAR_RULES[f.node.spec.kind].symbol !== rule.symbol) throw new Error(`${rule.symbol}T applied to a ${f.node.spec.kind} term`);
      return f.node.op.transpose(f.arg, 'float64')[q]!;
    };
    scope[rule.symbol] = (k: number) => {
      const f = fields[k - 1]!;
      if (LINEAR_RULES[f.node.spec.kind].symbol !== rule.symbol) throw new Error(`${rule.symbol} applied to a ${f.node.spec.kind} term`);
      return f.node.op.apply(f.arg, 'float64')[q]!;
    };
  }
}

/** Named intermediates of S's graph that a set of expressions uses, in reading order. */
export function namedIntermediates(exprs: readonly Node[]): Array<readonly [string, Node]> {
  const ids = new Set(topoSort(exprs).map((n) => n.id));
  return pointwiseSsim().named.filter(([name, node]) => name !== 'S' && ids.has(node.id));
}
