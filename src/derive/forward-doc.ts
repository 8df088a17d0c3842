/**
 * The forward-mode and second-order section of a derivation document, printed from the field
 * graph as the reverse-mode sections are (graph-doc.ts), every block walked as its fine graph:
 *
 *   JVP   the tangent of every node in terms of its arguments' tangents, one rule per kind
 *         (a linear operator applied to the tangent, a map's partials per pixel, a mean of the
 *         tangent), ending in the loss's tangent, which is <dL/dx, x_dot> + <dL/dy, y_dot>;
 *   HVP   forward over reverse: the tangent of every adjoint the reverse-mode program names,
 *         its steps differentiated in the direction (a transpose or a count hands the adjoint's
 *         tangent on; a partial step a_bar * p gives a_bar_dot * p + a_bar * sum_u dp/du u_dot,
 *         the second partials d p / d u symbolic), ending in the images' adjoint tangents, H v.
 *
 * Every equation has a mathjs twin evaluated at sample pixels against the library: the tangents
 * forward mode computes (forwardTangents), the loss's against reverse mode's gradient dotted with
 * the direction, the second partials against the scalar graph, and the adjoints' tangents against
 * forward over reverse (hessianVector, recorded).
 */
import { dagSize, evaluate, substitute, toInfix, variable, type Node } from '../expr/index.js';
import { toLatex, type LatexNames } from '../expr/latex.js';
import { sizeOf } from '../field/index.js';
import { stepValue } from '../graph/adjoint.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { forwardTangents, hessianVector } from '../graph/forward.js';
import { LINEAR_RULES } from '../graph/linear.js';
import type { FieldNode, LinearNode, MapNode } from '../graph/node.js';
import { expand, partialsOf, reduceToShape } from '../graph/pointwise.js';
import { BLOCK_KERNELS } from '../runtime/blocks.js';
import { GraphDoc, labelTex, operatorScope, sampleRun, VAR_TEX, view, withFunctions, type GraphEquation, type Term } from './graph-doc.js';
import type { Equation } from './model.js';

/** What the section is printed from: the loss, its inputs on the sample images, and how the document names the loss. */
export interface ForwardSectionInput {
  readonly loss: FieldNode;
  readonly inputs: Readonly<Record<string, Float64Array>>;
  /** LaTeX of the loss (L, \mathcal{L}). */
  readonly lossTex: string;
  /** Counts print as |\Omega| (a loss that is one windowed map). */
  readonly regionCounts?: boolean;
  /** A deterministic generator for the direction. */
  readonly rand: () => number;
}

/** The writer's interface the section needs (build.ts's Writer). */
interface SectionWriter {
  readonly blocks: ReadonlyArray<{ kind: string; latex?: string }>;
  h2(text: string, id: string): void;
  p(text: string): void;
  eq(latex: string, twin: string, samples: Equation['samples'], gradient?: 'x' | 'y', tangent?: Equation['tangent']): Equation;
}

/** LaTeX of a tangent: a dot over the name's stem (\dot{g}_{\mu_x}, \dot{\overline{u_{1}}}, \dot{x}). */
export function dotTex(name: string): string {
  const roman = /^(\\mathrm\{[^{}]*\})(\^\{\(\d+\)\})?$/.exec(name);
  if (roman !== null) return `\\dot{${roman[1]}}${roman[2] ?? ''}`;
  const m = /^(\\?[A-Za-z]+)(_\{.*\}|_[A-Za-z0-9]|_\\[A-Za-z]+)?(\^\{\(\d+\)\})?$/.exec(name);
  if (m !== null && (m[1]!.length === 1 || /^\\[a-z]+$/.test(m[1]!)) && !m[1]!.startsWith('\\mathrm')) return `\\dot{${m[1]}}${m[2] ?? ''}${m[3] ?? ''}`;
  return `\\dot{${name}}`;
}

/** Whether LaTeX is a sum at its top level (outside braces and \\left( \\right)). */
function topLevelSum(t: string): boolean {
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    if (t.startsWith('\\left', i)) depth++;
    else if (t.startsWith('\\right', i)) depth--;
    else if (t[i] === '{') depth++;
    else if (t[i] === '}') depth--;
    else if (depth === 0 && (t.startsWith(' + ', i) || t.startsWith(' - ', i))) return true;
  }
  return false;
}
const wrap = (t: string): string => (topLevelSum(t) ? `\\left(${t}\\right)` : t);
const isZero = (p: Node): boolean => p.op === 'const' && p.value === 0;
const SMALL = 8;

/** The forward-mode and second-order section, appended to the document `w` writes; returns the direction its tangents are taken in. */
export function forwardSection(w: SectionWriter, o: ForwardSectionInput): { x: Float64Array; y: Float64Array } {
  const run = sampleRun(o.loss, o.inputs);
  const doc = new GraphDoc({
    output: o.loss,
    expand: true,
    targets: [{ node: inputNode(o.loss, 'x'), tex: 'x' }, { node: inputNode(o.loss, 'y'), tex: 'y' }],
    outputTex: o.lossTex,
    regionCounts: o.regionCounts === true,
    run: () => run,
  });
  const X = inputNode(o.loss, 'x');
  const Y = inputNode(o.loss, 'y');
  const direction = {
    x: Float64Array.from(o.inputs.x!, () => 2 * o.rand() - 1),
    y: Float64Array.from(o.inputs.y!, () => 2 * o.rand() - 1),
  };
  const path = doc.nodes.filter((n) => doc.onPathOf(n) && n.kind !== 'input');
  let fwd: ReturnType<typeof forwardTangents> | undefined;
  const tangents = () => (fwd ??= forwardTangents(o.loss, o.inputs, direction, { at: path }));
  const tangentOf = (n: FieldNode): Float64Array => {
    const m = doc.at(n);
    if (m.kind === 'input') return m.name === 'x' ? direction.x : m.name === 'y' ? direction.y : new Float64Array(sizeOf(m.shape));
    const t = tangents().tangents.get(m.id);
    if (t === undefined) throw new Error(`forward-doc: no tangent of ${m.label}`);
    return t;
  };
  let grads: { x: Float64Array; y: Float64Array } | undefined;
  const gradient = () => {
    if (grads === undefined) {
      const r = evaluateGraph(o.loss, o.inputs, { wrt: ['x', 'y'], kernels: BLOCK_KERNELS, fused: !hasKernelless(path) });
      grads = { x: r.grads.x!, y: r.grads.y! };
    }
    return grads;
  };
  let hv: ReturnType<typeof hessianVector> | undefined;
  const hvp = () => (hv ??= hessianVector(o.loss, o.inputs, direction, { wrt: ['x', 'y'], record: true }));
  const adjointTangent = (n: FieldNode): Float64Array => hvp().adjointTangents!.get(doc.at(n).id) ?? new Float64Array(sizeOf(doc.at(n).shape));
  // a term printed with its own sign (a partial of -2): 'a + -b' reads 'a - b'
  const put = (e: GraphEquation, tangent?: Equation['tangent']): void => void w.eq(e.latex.replace(/ \+ -/g, ' - '), e.twin, withFunctions(e.samples), undefined, tangent);
  const printed = new Set(w.blocks.flatMap((b) => (b.kind === 'eq' && b.latex !== undefined ? [b.latex.split(' = ')[0]!] : [])));
  const L = o.lossTex;
  const dot = (n: FieldNode): string => dotTex(doc.nameOf(n));

  // ---- forward mode ----
  w.h2('Forward mode: the directional derivative', 'forward-mode');
  w.p(
    `Forward mode carries a tangent $\\dot u$, the derivative of a node's value $u$ in a direction $(\\dot x, \\dot y)$ of the images, from the images to the loss, in the order the values are computed, one rule per kind of node: a linear operator applies itself to its argument's tangent, a pointwise map sums its partials times its arguments' tangents pixel by pixel ($\\odot$), a mean averages the tangent. Every windowed map is walked as its fine graph (the products, the windows, the map, the region), and nodes without a name of their own are numbered afresh in this section. The loss's tangent is the JVP, $\\dot{${L}} = \\langle \\partial ${L} / \\partial x, \\dot x \\rangle + \\langle \\partial ${L} / \\partial y, \\dot y \\rangle$ (\`ssim-grad jvp\`, \`variantJvp\`). Each equation is checked at sample pixels against the library's forward mode, for a random direction; the loss's against reverse mode's gradient dotted with the direction:`,
  );
  const bigPartials: Array<{ name: string; n: MapNode; p: Node; generic: boolean }> = [];
  // a map whose expression several maps share (MS-SSIM's cs at every scale): its partials named, and written, once, in its own variables
  const shared = new Set<number>();
  const seen = new Set<number>();
  for (const n of path) if (n.kind === 'map') (seen.has(n.expr.id) ? shared : seen).add(n.expr.id);
  const partialTexOf = (n: MapNode, v: string, p: Node): string => {
    if (dagSize([p]) <= SMALL) return toLatex(p, doc.mapNames(n));
    const generic = shared.has(n.expr.id);
    const name = generic ? `\\frac{\\partial ${fieldTop(doc, n)}}{\\partial ${VAR_TEX[v] ?? v}}` : doc.partialName(n, v);
    if (!printed.has(name) && !bigPartials.some((b) => b.name === name)) bigPartials.push({ name, n, p, generic });
    return name;
  };
  const moving = (n: MapNode): string[] => Object.keys(n.args).filter((v) => doc.onPathOf(n.args[v]!));
  const tangentEqs: GraphEquation[] = [];
  let lossEq: GraphEquation | undefined;
  for (const n of path) {
    const lhs = dot(n);
    const at = GraphDoc.pixels(n.shape);
    const isLoss = doc.at(n).id === doc.at(o.loss).id;
    const expected = (q: number): number => (isLoss ? innerWithDirection(gradient(), direction) : tangentOf(n)[q]!);
    const samples = (scopeAt: (q: number) => Record<string, unknown>): Equation['samples'] => () => at.map((q) => ({ scope: scopeAt(q) as Record<string, number>, expected: expected(q), at: q }));
    const count = tangentEqs.length;
    switch (n.kind) {
      case 'linear': {
        const rule = LINEAR_RULES[n.spec.kind];
        tangentEqs.push({
          latex: `${lhs} = ${rule.symbol} \\, ${dot(n.arg)}`,
          twin: `${rule.symbol}(1)`,
          samples: samples((q) => {
            const scope: Record<string, unknown> = {};
            operatorScope(scope, [{ node: n, arg: tangentOf(n.arg), forward: true }], q);
            return scope;
          }),
        });
        break;
      }
      case 'map': {
        const vs = moving(n);
        const parts = vs.map((v) => {
          const p = doc.partialFor(n, v);
          const pt = partialTexOf(n, v, p);
          if (p.op === 'const') return p.value === 1 ? dot(n.args[v]!) : `${pt} \\, ${dot(n.args[v]!)}`;
          return `${p.op === 'add' && dagSize([p]) <= SMALL ? `\\left(${pt}\\right)` : pt} \\odot ${dot(n.args[v]!)}`;
        });
        const twinParts = vs.map((v, k) => `(${toInfix(renamed(n, doc.partialFor(n, v), 'a'))}) * d${k + 1}`);
        tangentEqs.push({
          latex: `${lhs} = ${parts.join(' + ')}`,
          twin: twinParts.join(' + '),
          samples: samples((q) => {
            const scope: Record<string, unknown> = mapScope(doc, n, q, 'a');
            vs.forEach((v, k) => (scope[`d${k + 1}`] = expand(tangentOf(n.args[v]!), n.args[v]!.shape, n.shape)[q]!));
            return scope;
          }),
        });
        break;
      }
      case 'reduce': {
        const mean = n.how === 'mean' || n.how === 'planeMean';
        const per = n.how === 'planeMean' || n.how === 'planeSum';
        const count = mean ? `\\frac{1}{${doc.countTex(n)}} ` : '';
        const arg = dot(n.arg);
        tangentEqs.push({
          latex: per ? `(${lhs})_p = ${count}\\sum_{i \\in p} (${arg})_i` : `${lhs} = ${count}\\sum_{i} (${arg})_i`,
          twin: mean ? 'mean(v)' : 'sum(v)',
          samples: samples((q) => {
            const v = tangentOf(n.arg);
            const len = v.length / (per ? n.shape[0] * n.shape[1] : 1);
            return { v: Array.from(v.subarray(q * len, (q + 1) * len)) };
          }),
        });
        break;
      }
      case 'block':
      case 'input':
        break;
    }
    if (isLoss && tangentEqs.length > count) lossEq = tangentEqs[tangentEqs.length - 1];
  }
  if (bigPartials.length > 0) {
    w.p("The partials written by name below, as the scalar graph holds them (the same the reverse-mode program applies; a map used at several scales has them once, in its own variables, evaluated on each scale's moments):");
    for (const b of bigPartials) put(pointwiseEquation(doc, b.name, b.n, b.p, b.generic));
  }
  const printedBig = bigPartials.length;
  w.p(`The tangents, from $${dotTex('x')}$ and $${dotTex('y')}$ (the direction) to the loss:`);
  for (const e of tangentEqs) put(e, e === lossEq ? 'loss' : undefined);
  w.p('which is the gradient dotted with the direction (checked against forward mode\'s tangent of the loss):');
  put({
    latex: `\\dot{${L}} = \\left\\langle \\frac{\\partial ${L}}{\\partial x}, \\dot{x} \\right\\rangle + \\left\\langle \\frac{\\partial ${L}}{\\partial y}, \\dot{y} \\right\\rangle`,
    twin: 'dot(gx, dx) + dot(gy, dy)',
    samples: () => [{ scope: { gx: Array.from(gradient().x), gy: Array.from(gradient().y), dx: Array.from(direction.x), dy: Array.from(direction.y) } as unknown as Record<string, number>, expected: tangents().tangent[0]! }],
  });

  // ---- second order ----
  w.h2('Second order: the Hessian times a vector', 'second-order');
  w.p(
    `The Hessian-vector product is forward mode over reverse mode: the tangent, in the direction $(\\dot x, \\dot y)$, of every adjoint the reverse-mode program computes (the adjoints as this section's walk names them; $\\dot{\\bar u}$ is the tangent of $\\bar u$). A step linear in the adjoint (a transpose $A^\\top$, a count $1/N$) hands the adjoint's tangent on by the same rule; a map's step $\\bar a \\odot \\partial a / \\partial b$ has the tangent $\\dot{\\bar a} \\odot \\partial a / \\partial b + \\bar a \\odot \\sum_u (\\partial^2 a / \\partial b \\, \\partial u) \\odot \\dot u$, the second partials the scalar graph's symbolic derivatives of the first (interned: $\\partial^2 a / \\partial b \\, \\partial u$ and $\\partial^2 a / \\partial u \\, \\partial b$ are one node where the graph makes them equal). The images' adjoint tangents are the rows of the Hessian of $${L}$ times $(\\dot x, \\dot y)$: $\\dot{\\bar x} = H_{xx} \\dot x + H_{xy} \\dot y$, $\\dot{\\bar y} = H_{yx} \\dot x + H_{yy} \\dot y$ (\`ssim-grad hvp\`, \`variantHvp\`). Checked at sample pixels against the library's forward over reverse.`,
  );
  const seconds = new SecondPartials(doc);
  const hvpTerm = new TangentTerms(doc, seconds, tangentOf, adjointTangent, partialTexOf);
  const adjointEqs: Array<[GraphEquation, Equation['tangent']]> = [];
  for (const n of doc.namedAdjoints()) adjointEqs.push([hvpTerm.equation(dotTex(doc.adjointOf(n)), doc.adjointTerm(n), GraphDoc.pixels(n.shape), () => adjointTangent(n)), undefined]);
  for (const [img, which] of [[X, 'x'], [Y, 'y']] as const) {
    adjointEqs.push([hvpTerm.equation(`\\dot{\\bar ${which}}`, doc.adjointTerm(img), GraphDoc.pixels(img.shape), () => hvp().hvps[which]!), which]);
  }
  const later = bigPartials.slice(printedBig);
  if (later.length > 0) {
    w.p('The partials not written above, as the scalar graph holds them:');
    for (const b of later) put(pointwiseEquation(doc, b.name, b.n, b.p, b.generic));
  }
  const secondEqs = seconds.equations();
  if (secondEqs.length > 0) {
    w.p("The second partials written by name: each a function of its map's own variables (evaluated, pixel by pixel, on the map's arguments: at every scale for a map used at several), as the scalar graph holds them:");
    for (const e of secondEqs) put(e);
  }
  w.p('The adjoints\' tangents, in the order reverse mode reaches them, ending in the Hessian-vector product:');
  for (const [e, which] of adjointEqs) put(e, which);
  return direction;
}

function inputNode(loss: FieldNode, name: string): FieldNode {
  const doc = new Set<number>();
  const stack: FieldNode[] = [loss];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (doc.has(n.id)) continue;
    doc.add(n.id);
    if (n.kind === 'input' && n.name === name) return n;
    if (n.kind === 'linear' || n.kind === 'reduce') stack.push(n.arg);
    else if (n.kind === 'map') stack.push(...Object.values(n.args));
    else if (n.kind === 'block') stack.push(n.x, n.y, n.expanded);
  }
  throw new Error(`forward-doc: the loss has no input ${name}`);
}

const hasKernelless = (nodes: readonly FieldNode[]): boolean => nodes.some((n) => n.kind === 'block' && n.map.kernels === null);

function innerWithDirection(g: { x: Float64Array; y: Float64Array }, d: { x: Float64Array; y: Float64Array }): number {
  let s = 0;
  for (let i = 0; i < g.x.length; i++) s += g.x[i]! * d.x[i]!;
  for (let i = 0; i < g.y.length; i++) s += g.y[i]! * d.y[i]!;
  return s;
}

/** A map's expression (or a derivative of it) with its variables and constants renamed `prefix_v`, for a twin. */
function renamed(n: MapNode, p: Node, prefix: string): Node {
  const vars = [...Object.keys(n.args), ...Object.keys(n.consts)];
  return substitute([p], new Map(vars.map((v) => [v, variable(`${prefix}_${v}`)] as const)))[0]!;
}

/** The scope of a renamed expression at element q: the map's arguments' values and its constants. */
function mapScope(doc: GraphDoc, n: MapNode, q: number, prefix: string, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [v, a] of Object.entries(n.args)) into[`${prefix}_${v}`] = doc.valueAt(a, n, q);
  for (const [c, x] of Object.entries(n.consts)) into[`${prefix}_${c}`] = x;
  return into;
}

/** The map's own name, as a numerator: its label's (without a scale's superscript), else its name in the walk. */
function fieldTop(doc: GraphDoc, n: MapNode): string {
  const top = labelTex(n.label) ?? doc.nameOf(n);
  return /^[A-Za-z]$/.test(top) ? top : `\\, ${top}`;
}

/** LaTeX names of a map's expression in its own variables (the scalar graph's: mu_x, m_xx, ...), not its arguments' fields. */
function ownNames(doc: GraphDoc, n: MapNode): LatexNames {
  const vars = { ...doc.mapNames(n).vars };
  for (const v of [...Object.keys(n.args), ...Object.keys(n.consts)]) vars[v] = VAR_TEX[v] ?? v;
  return { vars, nodes: doc.mapNames(n).nodes };
}

/**
 * `name = p` for a pointwise derivative of a map (in its own variables where `generic`), its twin
 * the infix over the map's variables at sample pixels.
 */
function pointwiseEquation(doc: GraphDoc, name: string, n: MapNode, p: Node, generic = false): GraphEquation {
  const at = GraphDoc.pixels(n.shape);
  return {
    latex: `${name} = ${toLatex(p, generic ? ownNames(doc, n) : doc.mapNames(n))}`,
    twin: toInfix(p),
    samples: () =>
      at.map((q) => {
        const env: Record<string, number> = { ...n.consts };
        for (const [v, a] of Object.entries(n.args)) env[v] = doc.valueAt(a, n, q);
        return { scope: env, expected: evaluate(p, env) };
      }),
  };
}

/** A second partial whose LaTeX is longer than this is written as the derivative of the partial it differentiates (its twin, the expression itself, is checked all the same): written out, the long ones are most of the document (75 kB of HTML each). */
const LONG = 350;

/**
 * The second partials of the maps' partials that the adjoints' tangents use: small ones printed in
 * place, the others by name. A second partial is a function of its map's own variables (the scalar
 * graph's), so maps of one expression (MS-SSIM's cs at every scale) share its name and equation,
 * each evaluating it on its own arguments; one node reached from several pairs of variables (the
 * graph interns d^2 S / d m_xx d mu_x and d^2 S / d m_yy d mu_x as one where they are equal) has
 * one equation with every name.
 */
class SecondPartials {
  readonly groups: Array<{ names: string[]; n: MapNode; p: Node; v: string; u: string }> = [];
  private readonly names = new Map<string, string>();
  constructor(private readonly doc: GraphDoc) {}

  /** d p / d u for the partial p = d n / d v, each argument u of n that moves (zeros left out). */
  of(n: MapNode, v: string, p: Node): Array<{ u: string; p2: Node }> {
    const vars = Object.keys(n.args);
    const second = partialsOf(p, vars);
    return vars.flatMap((u, k) => (this.doc.onPathOf(n.args[u]!) && !isZero(second[k]!) ? [{ u, p2: second[k]! }] : []));
  }

  texOf(n: MapNode, v: string, u: string, p2: Node): string {
    if (dagSize([p2]) <= SMALL) return toLatex(p2, this.doc.mapNames(n));
    const key = `${n.expr.id}|${v}|${u}`;
    const hit = this.names.get(key);
    if (hit !== undefined) return hit;
    const a = VAR_TEX[v] ?? v;
    const den = v === u ? `\\partial {${a}}^2` : `\\partial ${a} \\, \\partial ${VAR_TEX[u] ?? u}`;
    const name = `\\frac{\\partial^2 ${fieldTop(this.doc, n)}}{${den}}`;
    this.names.set(key, name);
    const group = this.groups.find((g) => g.n.expr.id === n.expr.id && g.p.id === p2.id);
    if (group !== undefined) group.names.push(name);
    else this.groups.push({ names: [name], n, p: p2, v, u });
    return name;
  }

  /** The equations of the named second partials, in the map's own variables. */
  equations(): GraphEquation[] {
    return this.groups.map((g) => {
      let rhs = toLatex(g.p, ownNames(this.doc, g.n));
      if (rhs.length > LONG) {
        rhs = `\\frac{\\partial}{\\partial ${VAR_TEX[g.u] ?? g.u}} \\frac{\\partial ${fieldTop(this.doc, g.n)}}{\\partial ${VAR_TEX[g.v] ?? g.v}} \\quad \\text{(${dagSize([g.p])} nodes of the scalar graph; the twin writes it out)}`;
      }
      const e = pointwiseEquation(this.doc, '', g.n, g.p);
      return { ...e, latex: `${g.names.join(' = ')} = ${rhs}` };
    });
  }
}

/** Tangents of adjoint terms (graph-doc's Term): their LaTeX, their fields and their twins. */
class TangentTerms {
  constructor(
    private readonly doc: GraphDoc,
    private readonly seconds: SecondPartials,
    private readonly tangentOf: (n: FieldNode) => Float64Array,
    private readonly adjointTangent: (n: FieldNode) => Float64Array,
    private readonly partialTex: (n: MapNode, v: string, p: Node) => string,
  ) {}

  /** `lhs = the tangent of term`, its twin at the elements `at` against `expected`. */
  equation(lhs: string, term: Term, at: readonly number[], expected: () => Float64Array): GraphEquation {
    const tex = this.tex(term) ?? '0';
    const build = (q: number): { text: string; scope: Record<string, unknown> } => {
      let j = 0;
      const scope: Record<string, unknown> = {};
      const fields: Array<{ node: LinearNode; arg: Float64Array }> = [];
      const text = this.twin(term, q, scope, () => `t${++j}`, fields) ?? '0';
      operatorScope(scope, fields, q);
      return { text, scope };
    };
    return {
      latex: `${lhs} = ${tex}`,
      twin: build(at[0]!).text,
      samples: () => {
        const e = expected();
        return at.map((q) => ({ scope: build(q).scope as Record<string, number>, expected: e[q]!, at: q }));
      },
    };
  }

  /** LaTeX of a term's tangent, or null where it is zero (the seed). */
  tex(term: Term): string | null {
    const t = view(term);
    const doc = this.doc;
    switch (t.k) {
      case 'seed':
        return null;
      case 'adj':
        return dotTex(doc.adjointOf(t.node));
      case 'sum': {
        const parts = t.terms.map((s) => this.tex(s)).filter((s): s is string => s !== null);
        return parts.length === 0 ? null : parts.join(' + ');
      }
      case 'T': {
        const inner = this.tex(t.arg);
        if (inner === null) return null;
        return `${LINEAR_RULES[t.node.spec.kind].symbol}^\\top ${wrap(inner)}`;
      }
      case 'reduce': {
        const inner = this.tex(t.arg);
        if (inner === null) return null;
        const arg = wrap(inner);
        return t.node.how === 'sum' || t.node.how === 'planeSum' ? arg : `\\frac{1}{${doc.countTex(t.node)}} ${arg}`;
      }
      case 'scale': {
        const n = t.node;
        const parts: string[] = [];
        const inner = this.tex(t.arg);
        const p = t.partial;
        if (inner !== null) {
          const pt = this.partialTex(n, t.v, p);
          const arg = wrap(inner);
          if (p.op === 'const') parts.push(p.value === 1 ? arg : `${pt} \\, ${arg}`);
          else parts.push(`${p.op === 'add' && dagSize([p]) <= SMALL ? `\\left(${pt}\\right)` : pt} \\odot ${arg}`);
        }
        const second = this.seconds.of(n, t.v, p);
        if (second.length > 0) {
          const sum = second.map((s) => {
            const p2 = this.seconds.texOf(n, t.v, s.u, s.p2);
            const d = dotTex(doc.nameOf(n.args[s.u]!));
            if (s.p2.op === 'const') return s.p2.value === 1 ? d : `${p2} \\, ${d}`;
            return `${s.p2.op === 'add' && dagSize([s.p2]) <= SMALL ? `\\left(${p2}\\right)` : p2} \\odot ${d}`;
          });
          // three or more: the sum over the map's arguments u written as one, each term's second partial in u (their equations above)
          const many = sum.length > 2;
          const over = `\\sum_{u \\in \\{${second.map((s) => doc.nameOf(n.args[s.u]!)).join(', ')}\\}} \\frac{\\partial^2 ${fieldTop(doc, n)}}{\\partial ${VAR_TEX[t.v] ?? t.v} \\, \\partial u} \\odot \\dot{u}`;
          const inside = many ? `\\left(${over}\\right)` : sum.length > 1 ? `\\left(${sum.join(' + ')}\\right)` : sum[0]!;
          if (t.arg.k === 'seed') parts.push(many ? over : sum.join(' + '));
          else {
            const a = doc.tex(t.arg);
            parts.push(`${/\s/.test(a) ? `\\left(${a}\\right)` : a} \\odot ${inside}`);
          }
        }
        return parts.length === 0 ? null : parts.join(' + ');
      }
      case 'block':
        throw new Error('forward-doc: a block in a walk of the fine graph');
    }
  }

  /** The field a term's tangent is (from the recorded adjoint tangents, the steps' rules applied to the arguments' tangents). */
  field(term: Term): Float64Array {
    const t = view(term);
    const doc = this.doc;
    const val = (n: FieldNode): Float64Array => doc.valueOf(n);
    switch (t.k) {
      case 'seed':
        return Float64Array.of(0);
      case 'adj':
        return this.adjointTangent(t.node);
      case 'sum':
        return t.terms.map((s) => this.field(s)).reduce((a, b) => a.map((v, i) => v + b[i]!));
      case 'T':
      case 'reduce':
        return stepValue(t.step, this.field(t.arg), val, 'float64')!;
      case 'scale': {
        const n = t.node;
        const first = stepValue(t.step, this.field(t.arg), val, 'float64')!;
        const bar = doc.field(t.arg);
        const second = this.seconds.of(n, t.v, t.partial);
        const out = new Float64Array(sizeOf(n.shape));
        const tans = second.map((s) => expand(this.tangentOf(n.args[s.u]!), n.args[s.u]!.shape, n.shape));
        for (let q = 0; q < out.length; q++) {
          let s = 0;
          second.forEach((sp, k) => (s += doc.partialValue(n, sp.p2, q) * tans[k]![q]!));
          out[q] = s * bar[bar.length === 1 ? 0 : q]!;
        }
        const reduced = reduceToShape(out, n.shape, doc.at(n.args[t.v]!).shape, 'float64');
        return first.map((v, i) => v + reduced[i]!);
      }
      case 'block':
        throw new Error('forward-doc: a block in a walk of the fine graph');
    }
  }

  /** The twin of a term's tangent at element q (null: zero), its numbers and operators put in `scope` and `fields`. */
  twin(term: Term, q: number, scope: Record<string, unknown>, fresh: () => string, fields: Array<{ node: LinearNode; arg: Float64Array }>): string | null {
    const t = view(term);
    const doc = this.doc;
    switch (t.k) {
      case 'seed':
        return null;
      case 'adj': {
        const k = fresh();
        scope[k] = this.adjointTangent(t.node)[q]!;
        return k;
      }
      case 'sum': {
        const parts = t.terms.map((s) => this.twin(s, q, scope, fresh, fields)).filter((s): s is string => s !== null);
        return parts.length === 0 ? null : parts.join(' + ');
      }
      case 'T': {
        if (this.tex(t.arg) === null) return null;
        fields.push({ node: t.node, arg: this.field(t.arg) });
        return `${LINEAR_RULES[t.node.spec.kind].symbol}T(${fields.length})`;
      }
      case 'reduce': {
        const shape = doc.at(t.node.arg).shape;
        const per = sizeOf(shape) / (shape[0] * shape[1]);
        const at = t.node.how === 'mean' || t.node.how === 'sum' ? 0 : Math.floor(q / per);
        const inner = this.twin(t.arg, at, scope, fresh, fields);
        if (inner === null) return null;
        if (t.node.how === 'sum' || t.node.how === 'planeSum') return inner;
        const k = fresh();
        scope[k] = t.count;
        return `(${inner}) / ${k}`;
      }
      case 'scale': {
        const n = t.node;
        if (doc.at(n.args[t.v]!).shape.join() !== n.shape.join()) {
          // summed over broadcast dimensions: the number itself
          if (this.tex(term) === null) return null;
          const k = fresh();
          scope[k] = this.field(term)[q]!;
          return k;
        }
        const prefix = fresh();
        mapScope(doc, n, q, prefix, scope);
        const parts: string[] = [];
        const inner = this.twin(t.arg, q, scope, fresh, fields);
        if (inner !== null) parts.push(`(${toInfix(renamed(n, t.partial, prefix))}) * (${inner})`);
        const second = this.seconds.of(n, t.v, t.partial);
        if (second.length > 0) {
          const sum = second.map((s) => {
            const d = fresh();
            scope[d] = expand(this.tangentOf(n.args[s.u]!), n.args[s.u]!.shape, n.shape)[q]!;
            return `(${toInfix(renamed(n, s.p2, prefix))}) * ${d}`;
          });
          const bar = t.arg.k === 'seed' ? '1' : doc.twin(t.arg, q, scope, fresh, fields);
          parts.push(`(${bar}) * (${sum.join(' + ')})`);
        }
        return parts.length === 0 ? null : parts.join(' + ');
      }
      case 'block':
        throw new Error('forward-doc: a block in a walk of the fine graph');
    }
  }
}
