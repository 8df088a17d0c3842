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
import { resolved, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode } from '../graph/node.js';
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
  // a windowed map's own adjoint is named, so that its steps read alike wherever the map is used
  const blocks = topoOrder([o.loss], false).filter((n): n is BlockNode => n.kind === 'block');
  const blockOutputs = new Set(blocks.map((b) => resolved(b, true).id));
  const doc = new GraphDoc({
    output: o.loss,
    expand: true,
    targets: [{ node: inputNode(o.loss, 'x'), tex: 'x' }, { node: inputNode(o.loss, 'y'), tex: 'y' }],
    outputTex: o.lossTex,
    regionCounts: o.regionCounts === true,
    run: () => run,
    namedAdjoints: blockOutputs,
  });
  const roles = nodeRoles(blocks);
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
  const put = (e: GraphEquation, tangent?: Equation['tangent']): Equation => w.eq(e.latex.replace(/ \+ -/g, ' - '), e.twin, withFunctions(e.samples), undefined, tangent);
  const printed = new Set(w.blocks.flatMap((b) => (b.kind === 'eq' && b.latex !== undefined ? [b.latex.split(' = ')[0]!] : [])));
  // the equations printed so far, by their LaTeX: a partial the reverse-mode sections printed is referred to, not printed again
  const printedEq = new Map(w.blocks.flatMap((b) => (b.kind === 'eq' ? [[(b as Equation).latex, (b as Equation).number] as const] : [])));
  const L = o.lossTex;
  const dot = (n: FieldNode): string => dotTex(doc.nameOf(n));

  // ---- forward mode ----
  w.h2('Forward mode: the directional derivative', 'forward-mode');
  w.p(
    `Forward mode carries the tangent $\\dot u$ of every node, its derivative in a direction $(\\dot x, \\dot y)$ of the images: a linear operator applies itself to it, a pointwise map sums its partials times its arguments' tangents pixel by pixel ($\\odot$; $\\sum_u$ runs over the map's arguments $u$), a mean averages it. Windowed maps are walked as their fine graphs, and nodes without a name of their own are numbered afresh. The loss's tangent is the JVP (\`ssim-grad jvp\`, \`variantJvp\`). Each equation is checked at sample pixels against the library's forward mode in a random direction; one said to hold again with other names is checked on those nodes too.`,
  );
  const bigPartials: Array<{ name: string; n: MapNode; p: Node; generic: boolean }> = [];
  const referenced = new Set<number>();
  // off while an equation is printed again under other names (a check that two are alike): nothing it names is printed for it
  let recording = true;
  // a map whose expression several maps share (MS-SSIM's cs at every scale): its partials named, and written, once, in its own variables
  const shared = new Set<number>();
  const seen = new Set<number>();
  for (const n of path) if (n.kind === 'map') (seen.has(n.expr.id) ? shared : seen).add(n.expr.id);
  const ownPartial = new Map<string, string>();
  const partialTexOf = (n: MapNode, v: string, p: Node): string => {
    if (dagSize([p]) <= SMALL) return toLatex(p, doc.mapNames(n));
    const generic = `\\frac{\\partial ${fieldTop(doc, n)}}{\\partial ${VAR_TEX[v] ?? v}}`;
    const k = `${n.expr.id}|${v}`;
    if (!ownPartial.has(k)) ownPartial.set(k, `${generic} = ${toLatex(p, ownNames(doc, n))}`);
    const at = printedEq.get(ownPartial.get(k)!);
    if (at !== undefined) {
      if (recording) referenced.add(at);
      return generic;
    }
    const isShared = shared.has(n.expr.id);
    const name = isShared ? generic : doc.partialName(n, v);
    if (recording && !printed.has(name) && !bigPartials.some((b) => b.name === name)) bigPartials.push({ name, n, p, generic: isShared });
    return name;
  };
  const moving = (n: MapNode): string[] => Object.keys(n.args).filter((v) => doc.onPathOf(n.args[v]!));

  /** The tangent of a node from its arguments' tangents (null: an input, or a block, which the walk expands). */
  const tangentEquation = (n: FieldNode): GraphEquation | null => {
    const lhs = dot(n);
    const at = GraphDoc.pixels(n.shape);
    const isLoss = doc.at(n).id === doc.at(o.loss).id;
    const expected = (q: number): number => (isLoss ? innerWithDirection(gradient(), direction) : tangentOf(n)[q]!);
    const samples = (scopeAt: (q: number) => Record<string, unknown>): Equation['samples'] => () => at.map((q) => ({ scope: scopeAt(q) as Record<string, number>, expected: expected(q), at: q }));
    switch (n.kind) {
      case 'linear': {
        const rule = LINEAR_RULES[n.spec.kind];
        return {
          latex: `${lhs} = ${rule.symbol} \\, ${dot(n.arg)}`,
          twin: `${rule.symbol}(1)`,
          samples: samples((q) => {
            const scope: Record<string, unknown> = {};
            operatorScope(scope, [{ node: n, arg: tangentOf(n.arg), forward: true }], q);
            return scope;
          }),
        };
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
        // three or more partials, each by name: the sum over the map's arguments u written as one
        const many = vs.length > 2 && vs.every((v) => dagSize([doc.partialFor(n, v)]) > SMALL);
        return {
          latex: `${lhs} = ${many ? `\\sum_{u} \\frac{\\partial ${fieldTop(doc, n)}}{\\partial u} \\odot \\dot{u}` : parts.join(' + ')}`,
          twin: twinParts.join(' + '),
          samples: samples((q) => {
            const scope: Record<string, unknown> = mapScope(doc, n, q, 'a');
            vs.forEach((v, k) => (scope[`d${k + 1}`] = expand(tangentOf(n.args[v]!), n.args[v]!.shape, n.shape)[q]!));
            return scope;
          }),
        };
      }
      case 'reduce': {
        const mean = n.how === 'mean' || n.how === 'planeMean';
        const per = n.how === 'planeMean' || n.how === 'planeSum';
        const count = mean ? `\\frac{1}{${doc.countTex(n)}} ` : '';
        const arg = dot(n.arg);
        return {
          latex: per ? `(${lhs})_p = ${count}\\sum_{i \\in p} (${arg})_i` : `${lhs} = ${count}\\sum_{i} (${arg})_i`,
          twin: mean ? 'mean(v)' : 'sum(v)',
          samples: samples((q) => {
            const v = tangentOf(n.arg);
            const len = v.length / (per ? n.shape[0] * n.shape[1] : 1);
            return { v: Array.from(v.subarray(q * len, (q + 1) * len)) };
          }),
        };
      }
      case 'block':
      case 'input':
        return null;
    }
  };
  const tangentCands: Candidate[] = [];
  for (const n of path) {
    const eq = tangentEquation(n);
    if (eq === null) continue;
    const pairing = new Pairing(doc, roles);
    const isLoss = doc.at(n).id === doc.at(o.loss).id;
    tangentCands.push({ key: `${isLoss ? 'loss' : ''}${forwardKey(doc, n, pairing)}`, nodes: pairing.nodes, eq, latex: () => tangentEquation(n)!.latex, ...(isLoss ? { tangent: 'loss' as const } : {}) });
  }
  const withoutRecording = <T>(f: () => T): T => {
    recording = false;
    try {
      return f();
    } finally {
      recording = true;
    }
  };
  const tangentPlan = planAlike(doc, tangentCands, withoutRecording);
  if (referenced.size > 0 || bigPartials.length > 0) {
    const refs = referenced.size > 0 ? ` are those of eqs. ${rangeText([...referenced])}` : '';
    w.p(`The maps' partials${refs}${bigPartials.length > 0 ? `${refs === '' ? '' : ', and'} those written by name below, as the scalar graph holds them` : ''}, the same the reverse-mode program applies; a map used at several scales has them once, in its own variables, evaluated on each scale's arguments${bigPartials.length > 0 ? ':' : '.'}`);
    for (const b of bigPartials) put(pointwiseEquation(doc, b.name, b.n, b.p, b.generic));
  }
  const printedBig = bigPartials.length;
  w.p(`The tangents, from $${dotTex('x')}$ and $${dotTex('y')}$ (the direction) to the loss:`);
  emitPlan(w, doc, tangentPlan, put);
  w.p('which is the gradient dotted with the direction (checked against forward mode\'s tangent of the loss):');
  put({
    latex: `\\dot{${L}} = \\left\\langle \\frac{\\partial ${L}}{\\partial x}, \\dot{x} \\right\\rangle + \\left\\langle \\frac{\\partial ${L}}{\\partial y}, \\dot{y} \\right\\rangle`,
    twin: 'dot(gx, dx) + dot(gy, dy)',
    samples: () => [{ scope: { gx: Array.from(gradient().x), gy: Array.from(gradient().y), dx: Array.from(direction.x), dy: Array.from(direction.y) } as unknown as Record<string, number>, expected: tangents().tangent[0]! }],
  });

  // ---- second order ----
  w.h2('Second order: the Hessian times a vector', 'second-order');
  w.p(
    `The Hessian-vector product is forward over reverse mode: the tangent (a dot) of every adjoint (a bar) the reverse-mode program computes. A transpose or a count hands the tangent on by its own rule; a map's step $\\bar a \\odot \\partial a / \\partial b$ has the tangent $\\dot{\\bar a} \\odot \\partial a / \\partial b + \\bar a \\odot \\sum_u \\partial^2 a / \\partial b \\, \\partial u \\odot \\dot u$, one equation in v for the steps from one adjoint to every argument v of a map. The images' adjoint tangents are the Hessian of the loss times the direction (\`ssim-grad hvp\`, \`variantHvp\`), checked at sample pixels against the library's forward over reverse.`,
  );
  const seconds = new SecondPartials(doc);
  const hvpTerm = new TangentTerms(doc, seconds, tangentOf, adjointTangent, partialTexOf);
  const adjointCands: Candidate[] = [];
  const named = doc.namedAdjoints();
  // the adjoints of one map's arguments, each one step (its big partial) from one term: one equation in the argument v
  const families = new Map<string, FieldNode[]>();
  const familyKey = new Map<number, string>();
  for (const n of named) {
    const t = view(doc.adjointTerm(n));
    if (t.k !== 'scale' || doc.at(t.node.args[t.v]!).id !== doc.at(n).id || dagSize([t.partial]) <= SMALL) continue;
    const xp = new Pairing(doc, roles);
    const k = `${doc.at(t.node).id}|${termKey(doc, t.arg, xp)}|${xp.nodes.map((m) => m.id).join(',')}`;
    families.set(k, [...(families.get(k) ?? []), n]);
    familyKey.set(doc.at(n).id, k);
  }
  for (const n of named) {
    const members = families.get(familyKey.get(doc.at(n).id) ?? '') ?? [];
    if (members.length >= 3) {
      if (members[0] === n) adjointCands.push(familyCandidate(doc, hvpTerm, roles, members, adjointTangent));
      continue;
    }
    const pairing = new Pairing(doc, roles);
    const key = `${pairing.ix(n)}=${termKey(doc, doc.adjointTerm(n), pairing)}`;
    const lhs = (): string => dotTex(doc.adjointOf(n));
    adjointCands.push({ key, nodes: pairing.nodes, eq: hvpTerm.equation(lhs(), doc.adjointTerm(n), GraphDoc.pixels(n.shape), () => adjointTangent(n)), latex: () => hvpTerm.latex(lhs(), doc.adjointTerm(n)) });
  }
  for (const [img, which] of [[X, 'x'], [Y, 'y']] as const) {
    const eq = hvpTerm.equation(`\\dot{\\bar ${which}}`, doc.adjointTerm(img), GraphDoc.pixels(img.shape), () => hvp().hvps[which]!);
    adjointCands.push({ key: which, nodes: [], eq, latex: () => eq.latex, tangent: which });
  }
  const adjointPlan = planAlike(doc, adjointCands, withoutRecording);
  const later = bigPartials.slice(printedBig);
  if (later.length > 0) {
    w.p('The partials not written above, as the scalar graph holds them:');
    for (const b of later) put(pointwiseEquation(doc, b.name, b.n, b.p, b.generic));
  }
  seconds.print(w, put);
  w.p('The adjoints\' tangents, in the order reverse mode reaches them, ending in the Hessian-vector product:');
  emitPlan(w, doc, adjointPlan, put);
  return direction;
}

/**
 * One equation for the adjoints' tangents of a map's arguments (each the step through its partial
 * from one term): written in the argument v, its twin each member's by `part`, checked member by member.
 */
function familyCandidate(doc: GraphDoc, terms: TangentTerms, roles: ReadonlyMap<number, string>, members: readonly FieldNode[], adjointTangent: (n: FieldNode) => Float64Array): Candidate {
  const first = view(doc.adjointTerm(members[0]!));
  if (first.k !== 'scale') throw new Error('forward-doc: a family of adjoints not of a map\'s step');
  const F = first.node;
  const eqs = members.map((m) => terms.equation(dotTex(doc.adjointOf(m)), doc.adjointTerm(m), GraphDoc.pixels(m.shape), () => adjointTangent(m)));
  const latex = (): string => {
    const names = members.map((m) => doc.adjointOf(m));
    // g_{mu_x}^{(5)}, g_{xx}^{(5)}, ...: g_v^{(5)}; other adjoints: the bar of v
    const sup = /(\^\{\(\d+\)\})$/.exec(names[0]!)?.[1] ?? '';
    const lhs = names.every((x) => x.startsWith('g_{') && x.endsWith(sup)) ? `\\dot{g}_{v}${sup}` : '\\dot{\\bar v}';
    return `${lhs} = ${terms.tex(doc.adjointTerm(members[0]!), F) ?? '0'}, \\quad v \\in \\{${members.map((m) => doc.nameOf(m)).join(', ')}\\}`;
  };
  const twin = eqs.map((e) => `(${e.twin})`).reduceRight((rest, tw, k) => (k === eqs.length - 1 ? tw : `part == ${k + 1} ? ${tw} : (${rest})`));
  const p = new Pairing(doc, roles);
  const key = `family ${F.expr.id}:${p.ix(F)} ${members.map((m) => p.ix(m)).join(',')} ${termKey(doc, first.arg, p)}`;
  return {
    key,
    nodes: p.nodes,
    eq: { latex: latex(), twin, samples: () => eqs.flatMap((e, k) => e.samples().map((s) => ({ ...s, scope: { ...s.scope, part: k + 1 } }))) },
    latex,
  };
}

/** An equation of a section, with what makes it alike another: its structure (nodes by first appearance) and those nodes. */
interface Candidate {
  readonly key: string;
  readonly nodes: readonly FieldNode[];
  readonly eq: GraphEquation;
  /** Its LaTeX printed again (under other names, inside withNames). */
  readonly latex: () => string;
  readonly tangent?: Equation['tangent'];
}

/** Nodes numbered by first appearance in an equation's structure: two equations of one structure pair their nodes by number. */
class Pairing {
  readonly nodes: FieldNode[] = [];
  private readonly index = new Map<number, number>();
  constructor(
    private readonly doc: GraphDoc,
    private readonly roles: ReadonlyMap<number, string>,
  ) {}
  ix(n: FieldNode): string {
    const m = this.doc.at(n);
    const i = this.index.get(m.id);
    if (i !== undefined) return `#${i}`;
    this.index.set(m.id, this.nodes.length);
    this.nodes.push(m);
    return `#${this.nodes.length - 1}<${this.roles.get(m.id) ?? 'out'}>`;
  }
}

/**
 * What each node is to the windowed maps: a map's image x or y, or the k-th node of a map's fine
 * graph. Equations are alike only node for node of one role (the same map at another scale), not
 * merely of one shape (mu_y's tangent is not printed as mu_x's renamed).
 */
function nodeRoles(blocks: readonly BlockNode[]): Map<number, string> {
  const roles = new Map<number, string>();
  for (const b of blocks) {
    const before = new Set(topoOrder([b.x, b.y], true).map((n) => n.id));
    topoOrder([b.expanded], true)
      .filter((n) => !before.has(n.id))
      .forEach((n, k) => roles.set(n.id, `in:${k}`));
  }
  for (const b of blocks) {
    roles.set(resolved(b.x, true).id, 'image:x');
    roles.set(resolved(b.y, true).id, 'image:y');
  }
  return roles;
}

/** The structure of a node's tangent equation: its kind, operator, expression or count, and its nodes. */
function forwardKey(doc: GraphDoc, n: FieldNode, p: Pairing): string {
  switch (n.kind) {
    case 'linear':
      return `L:${n.spec.kind} ${p.ix(n)} ${p.ix(n.arg)}`;
    case 'map':
      return `M:${n.expr.id} ${p.ix(n)} ${Object.keys(n.args).map((v) => `${v}=${p.ix(n.args[v]!)}${doc.onPathOf(n.args[v]!) ? '*' : ''}`).join(',')}`;
    case 'reduce':
      return `R:${n.how}:${doc.countTex(n)} ${p.ix(n)} ${p.ix(n.arg)}`;
    default:
      return `${n.kind} ${p.ix(n)}`;
  }
}

/** The structure of an adjoint term (graph-doc's Term): its steps by rule, with their nodes, expressions and partials. */
function termKey(doc: GraphDoc, term: Term, p: Pairing): string {
  const t = view(term);
  switch (t.k) {
    case 'seed':
      return 'seed';
    case 'adj':
      return `A${p.ix(t.node)}`;
    case 'sum':
      return `(${t.terms.map((s) => termKey(doc, s, p)).join('+')})`;
    case 'T':
      return `T:${t.node.spec.kind}${p.ix(t.node)}[${termKey(doc, t.arg, p)}]`;
    case 'reduce':
      return `R:${t.node.how}:${doc.countTex(t.node)}${p.ix(t.node)}[${termKey(doc, t.arg, p)}]`;
    case 'scale': {
      const n = t.node;
      const args = Object.keys(n.args).map((v) => `${v}=${p.ix(n.args[v]!)}${doc.onPathOf(n.args[v]!) ? '*' : ''}`).join(',');
      return `P:${n.expr.id}:${t.v}:${t.partial.id}${p.ix(n)}{${args}}[${termKey(doc, t.arg, p)}]`;
    }
    case 'block':
      return `B:${t.which}${p.ix(t.node)}[${termKey(doc, t.arg, p)}]`;
  }
}

/** A print plan: equations (each with the alike ones its check also covers) and, where alike ones were left out, the rule that gives them. */
type PlanEntry = { readonly k: 'eq'; readonly c: Candidate; readonly alike: Candidate[] } | { readonly k: 'alike'; readonly inst: Instance };
/** Equations left out as alike: each one's printed twin and how its nodes are renamed (the first's node id to the pair). */
interface Instance {
  readonly pairs: Map<number, readonly [FieldNode, FieldNode]>;
  readonly members: Array<{ readonly c: Candidate; readonly rep: Candidate }>;
}

/**
 * Which equations to print: an equation is left out when an earlier one of the same structure,
 * printed under this one's names, is this one's LaTeX and has this one's twin (the same numbers
 * give the same value: its check runs on this one's samples too). Equations the tests read (the
 * JVP, the rows of H v) are always printed. Left-out equations whose renamings agree and share a
 * pair make one instance (a windowed map at another scale), said in one sentence where the first
 * of them would have been.
 */
function planAlike(doc: GraphDoc, cands: readonly Candidate[], quiet: <T>(f: () => T) => T): PlanEntry[] {
  const plan: PlanEntry[] = [];
  const reps = new Map<string, Array<Extract<PlanEntry, { k: 'eq' }>>>();
  const instances: Instance[] = [];
  for (const c of cands) {
    const r = c.tangent === undefined ? (reps.get(c.key) ?? []).find((e) => alikeUnderNames(doc, e.c, c, quiet)) : undefined;
    if (r !== undefined) {
      r.alike.push(c);
      const pairs = r.c.nodes.map((a, i) => [a, c.nodes[i]!] as const);
      const consistent = (inst: Instance): boolean => pairs.every(([a, b]) => (inst.pairs.get(a.id)?.[1].id ?? b.id) === b.id);
      const overlaps = (inst: Instance): boolean => pairs.some(([a, b]) => a.id !== b.id && inst.pairs.get(a.id)?.[1].id === b.id);
      let inst = instances.find((i) => consistent(i) && overlaps(i));
      if (inst === undefined) {
        inst = { pairs: new Map(), members: [] };
        instances.push(inst);
        plan.push({ k: 'alike', inst });
      }
      for (const [a, b] of pairs) inst.pairs.set(a.id, [a, b]);
      inst.members.push({ c, rep: r.c });
      continue;
    }
    const e = { k: 'eq' as const, c, alike: [] };
    plan.push(e);
    reps.set(c.key, [...(reps.get(c.key) ?? []), e]);
  }
  // instances whose renamings agree are one (a scale's x side and y side, met before an equation of both): said once, where the first was
  const agree = (i: Instance, j: Instance): boolean => [...j.pairs].every(([a, [, b]]) => (i.pairs.get(a)?.[1].id ?? b.id) === b.id);
  for (let i = 0; i < instances.length; i++) {
    for (let j = i + 1; j < instances.length; j++) {
      const [a, b] = [instances[i]!, instances[j]!];
      if (!agree(a, b)) continue;
      for (const [id, pair] of b.pairs) a.pairs.set(id, pair);
      a.members.push(...b.members);
      instances.splice(j, 1);
      plan.splice(plan.findIndex((e) => e.k === 'alike' && e.inst === b), 1);
      j = i;
    }
  }
  return plan;
}

/** Whether `c` is `r` with its nodes renamed: one structure, one twin, and `r`'s LaTeX when printed under `r`'s names. */
function alikeUnderNames(doc: GraphDoc, r: Candidate, c: Candidate, quiet: <T>(f: () => T) => T): boolean {
  if (r.nodes.length !== c.nodes.length || r.eq.twin !== c.eq.twin) return false;
  const names = new Map(c.nodes.map((b, i) => [b.id, doc.nameOf(r.nodes[i]!)] as const));
  return quiet(() => doc.withNames(names, c.latex)) === r.eq.latex;
}

/** Prints a plan: each equation with its alike ones' samples, each instance as the sentence that gives its equations. */
function emitPlan(w: SectionWriter, doc: GraphDoc, plan: readonly PlanEntry[], put: (e: GraphEquation, tangent?: Equation['tangent']) => Equation): void {
  let k = w.blocks.filter((b) => b.kind === 'eq').length;
  const numbers = new Map<Candidate, number>();
  for (const e of plan) if (e.k === 'eq') numbers.set(e.c, ++k);
  for (const e of plan) {
    if (e.k === 'alike') {
      w.p(alikeText(doc, e.inst, (c) => numbers.get(c)!));
      continue;
    }
    const all = [e.c, ...e.alike];
    const got = put({ ...e.c.eq, samples: () => all.flatMap((c) => c.eq.samples()) }, e.c.tangent);
    if (got.number !== numbers.get(e.c)) throw new Error(`forward-doc: eq. ${got.number} numbered ${numbers.get(e.c)} in the plan`);
  }
}

/** The sentence that gives an instance's equations: the printed ones' numbers and the renaming (a shift of every scale's superscript, and the other names one by one). */
function alikeText(doc: GraphDoc, inst: Instance, numberOf: (c: Candidate) => number): string {
  const refs = rangeText([...new Set(inst.members.map((m) => numberOf(m.rep)))]);
  const rule = renamingRule([...inst.pairs.values()].map(([a, b]) => [doc.nameOf(a), doc.nameOf(b)] as const));
  const one = !refs.includes(' ') && !refs.includes('–');
  return `${one ? 'Eq.' : 'Eqs.'} ${refs} ${one ? 'holds' : 'hold'} again, not printed, with the names changed: ${rule} (the nodes' tangents and adjoints with them); ${one ? 'its check runs' : 'their checks run'} on these nodes too.`;
}

/**
 * A renaming of names (LaTeX, old to new) in words: where most names with a scale's superscript
 * shift it by one amount, "every superscript (k) made (k + d)", and the pairs that rule does not
 * give written out (then "every other superscript"); a name that stays is left unsaid, unless it has
 * a superscript (then every pair is written out, the rule being false for it).
 */
export function renamingRule(pairs: ReadonlyArray<readonly [string, string]>): string {
  const sup = (t: string): RegExpExecArray | null => /^(.*)\^\{\((\d+)\)\}$/.exec(t);
  const shifts = new Map<number, number>();
  for (const [a, b] of pairs) {
    const sa = sup(a);
    const sb = sup(b);
    if (a !== b && sa !== null && sb !== null && sa[1] === sb[1]) shifts.set(Number(sb[2]) - Number(sa[2]), (shifts.get(Number(sb[2]) - Number(sa[2])) ?? 0) + 1);
  }
  const common = [...shifts].sort((p, q) => q[1] - p[1])[0]?.[0];
  const shift = common !== undefined && common !== 0 && !pairs.some(([a, b]) => a === b && sup(a) !== null) ? common : undefined;
  const byShift = (a: string, b: string): boolean => {
    const sa = sup(a);
    const sb = sup(b);
    return shift !== undefined && sa !== null && sb !== null && sa[1] === sb[1] && Number(sb[2]) - Number(sa[2]) === shift;
  };
  const seen = new Set<string>();
  const rest = pairs.filter(([a, b]) => a !== b && !byShift(a, b) && !seen.has(a) && seen.add(a));
  const rules: string[] = [];
  if (rest.length > 0) rules.push(`$${rest.map(([a, b]) => `${a} \\to ${b}`).join(',\\ ')}$`);
  if (shift !== undefined) rules.push(`every ${rest.some(([a]) => sup(a) !== null) ? 'other ' : ''}superscript $(k)$ made $(k ${shift > 0 ? '+' : '-'} ${Math.abs(shift)})$`);
  return rules.length === 0 ? 'none' : rules.join(', and ');
}

/** "3, 5–8 and 10". */
function rangeText(nums: readonly number[]): string {
  const sorted = [...new Set(nums)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(j === i ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return runs.length === 1 ? runs[0]! : `${runs.slice(0, -1).join(', ')} and ${runs[runs.length - 1]}`;
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

/** A second partial whose LaTeX is longer than this is written as the derivative of a first partial (its twin, the expression itself, is checked all the same): written out, the long ones are most of the document. */
const LONG = 120;

/** The exchange of the images in a map's variables (x <-> y): the moments' pairs. */
const MIRROR: Record<string, string> = { mu_x: 'mu_y', mu_y: 'mu_x', m_xx: 'm_yy', m_yy: 'm_xx' };

/** A map's variables exchanged by MIRROR, or null when it has no pair of them. */
function mirrorOf(n: MapNode): Map<string, string> | null {
  const vars = Object.keys(n.args);
  const pairs = vars.flatMap((v) => (MIRROR[v] !== undefined && vars.includes(MIRROR[v]!) ? [[v, MIRROR[v]!] as const] : []));
  return pairs.length === 0 ? null : new Map(pairs);
}

/** LaTeX of d^2 F / da db (a and b the variables' LaTeX): F_{ab} where F's name takes a subscript, else the fraction. */
function secondTex(doc: GraphDoc, n: MapNode, a: string, b: string): string {
  const top = labelTex(n.label) ?? doc.nameOf(n);
  if (!/[_^]/.test(top)) return `${top}_{${a} ${b}}`;
  return a === b ? `\\frac{\\partial^2 ${fieldTop(doc, n)}}{\\partial {${a}}^2}` : `\\frac{\\partial^2 ${fieldTop(doc, n)}}{\\partial ${a} \\, \\partial ${b}}`;
}

/** An expression with its variables exchanged. */
function exchanged(p: Node, sigma: ReadonlyMap<string, string>): Node {
  return substitute([p], new Map([...sigma].map(([a, b]) => [a, variable(b)] as const)))[0]!;
}

interface SecondGroup {
  /** The expression's map (the first met; every map of the expression on the path is checked). */
  readonly n: MapNode;
  /** Names, each pair of variables in the map's order (d^2/du dv = d^2/dv du: one name). */
  readonly names: string[];
  /** The nodes the names stand for, in either order of differentiation: all equal, checked against the printed one. */
  readonly nodes: Array<{ readonly p2: Node; readonly v: string; readonly u: string }>;
  /** Names given by the images' exchange: the printed one with x and y exchanged, checked so. */
  readonly mirrors: Array<{ readonly name: string; readonly nodes: Node[] }>;
}

/**
 * The second partials of the maps' partials that the adjoints' tangents use: small ones printed in
 * place, the others by name. A second partial is a function of its map's own variables (the scalar
 * graph's), so maps of one expression (MS-SSIM's cs at every scale) share its name and equation,
 * each evaluating it on its own arguments. One name stands for both orders of differentiation; one
 * equation for every pair of variables whose node is the same (the graph interns d^2 S / d mu_x d m_xx
 * and d^2 S / d mu_x d m_yy as one where they are equal); and a second partial that the images'
 * exchange (mu_x <-> mu_y, m_xx <-> m_yy) turns into a printed one, node for node, is named beside it.
 */
class SecondPartials {
  readonly groups: SecondGroup[] = [];
  private readonly names = new Map<string, string>();
  constructor(private readonly doc: GraphDoc) {}

  /** d p / d u for the partial p = d n / d v, each argument u of n that moves (zeros left out). */
  of(n: MapNode, v: string, p: Node): Array<{ u: string; p2: Node }> {
    const vars = Object.keys(n.args);
    const second = partialsOf(p, vars);
    return vars.flatMap((u, k) => (this.doc.onPathOf(n.args[u]!) && !isZero(second[k]!) ? [{ u, p2: second[k]! }] : []));
  }

  /** The name of d^2 n / dv du, its variables in the map's order (one name for both orders). */
  private canonical(n: MapNode, v: string, u: string): string {
    const vars = Object.keys(n.args);
    return vars.indexOf(v) <= vars.indexOf(u) ? this.nameOf(n, v, u) : this.nameOf(n, u, v);
  }

  /** The name the images' exchange makes of a second partial's name (the variables' pairs exchanged), or undefined. */
  private mirrorName(n: MapNode, name: string): string | undefined {
    const sigma = mirrorOf(n);
    if (sigma === null) return undefined;
    const vars = Object.keys(n.args);
    for (const a of vars) for (const b of vars) {
      if (vars.indexOf(a) > vars.indexOf(b) || this.nameOf(n, a, b) !== name) continue;
      return this.canonical(n, sigma.get(a) ?? a, sigma.get(b) ?? b);
    }
    return undefined;
  }

  private nameOf(n: MapNode, a: string, b: string): string {
    return secondTex(this.doc, n, VAR_TEX[a] ?? a, VAR_TEX[b] ?? b);
  }

  texOf(n: MapNode, v: string, u: string, p2: Node): string {
    if (dagSize([p2]) <= SMALL) return toLatex(p2, this.doc.mapNames(n));
    const key = `${n.expr.id}|${v}|${u}`;
    const hit = this.names.get(key);
    if (hit !== undefined) return hit;
    const name = this.canonical(n, v, u);
    this.names.set(key, name);
    const mine = this.groups.filter((g) => g.n.expr.id === n.expr.id);
    const group = mine.find((g) => g.nodes.some((x) => x.p2.id === p2.id) || g.names.includes(name));
    if (group !== undefined) {
      if (!group.names.includes(name)) group.names.push(name);
      if (!group.nodes.some((x) => x.p2.id === p2.id)) group.nodes.push({ p2, v, u });
      return name;
    }
    const sigma = mirrorOf(n);
    if (sigma !== null) {
      const image = exchanged(p2, sigma);
      const of = mine.find((g) => g.nodes.some((x) => x.p2.id === image.id));
      if (of !== undefined) {
        const m = of.mirrors.find((x) => x.name === name);
        if (m === undefined) of.mirrors.push({ name, nodes: [p2] });
        else if (!m.nodes.some((x) => x.id === p2.id)) m.nodes.push(p2);
        return name;
      }
    }
    this.groups.push({ n, names: [name], nodes: [{ p2, v, u }], mirrors: [] });
    return name;
  }

  /** Prints the named second partials: each group's shortest node, or where even that is long, the derivative of its shorter first partial. */
  print(w: SectionWriter, put: (e: GraphEquation) => Equation): void {
    if (this.groups.length === 0) return;
    const doc = this.doc;
    // the names the document has defined so far (left sides)
    const defined = new Set(w.blocks.flatMap((b) => (b.kind === 'eq' && b.latex !== undefined ? b.latex.split(' = ').slice(0, -1) : [])));
    const eqs = this.groups.map((g) => {
      const vars = Object.keys(g.n.args);
      const own = ownNames(doc, g.n);
      // both orders of every pair (the program reaches one; the other is the same function)
      const nodes = [...g.nodes];
      for (const x of g.nodes) {
        const other = partialsOf(doc.partialFor(g.n, x.u), vars)[vars.indexOf(x.v)]!;
        if (!nodes.some((y) => y.p2.id === other.id)) nodes.push({ p2: other, v: x.u, u: x.v });
      }
      const sigma = mirrorOf(g.n);
      const texts = nodes.map((x) => toLatex(x.p2, own));
      let best = 0;
      texts.forEach((t, i) => (t.length < texts[best]!.length ? (best = i) : undefined));
      let shown = nodes[best]!;
      let rhs = texts[best]!;
      // d/du of the shorter first partial d F / d v, where the document has written that partial by this name
      const firstName = (x: { v: string }): string => `\\frac{\\partial ${fieldTop(doc, g.n)}}{\\partial ${VAR_TEX[x.v] ?? x.v}}`;
      const named = nodes.filter((x) => defined.has(firstName(x)));
      if (rhs.length > LONG && named.length > 0) {
        const firstLen = (x: { v: string }): number => toLatex(doc.partialFor(g.n, x.v), own).length;
        shown = named.reduce((a, b) => (firstLen(b) < firstLen(a) ? b : a));
        rhs = `\\frac{\\partial}{\\partial ${VAR_TEX[shown.u] ?? shown.u}} ${firstName(shown)}`;
      }
      const maps = doc.nodes.filter((m): m is MapNode => m.kind === 'map' && m.expr.id === g.n.expr.id && doc.onPathOf(m));
      // a name the exchange of the images makes of another of the group, node for node, is given by that rule (below), not written
      const ids = new Set(nodes.map((x) => x.p2.id));
      const nodesOf = (name: string): Node[] => nodes.filter((x) => this.canonical(g.n, x.v, x.u) === name).map((x) => x.p2);
      const names: string[] = [];
      for (const name of g.names) {
        const from = sigma === null ? undefined : names.find((other) => this.mirrorName(g.n, other) === name && nodesOf(other).some((p2) => ids.has(exchanged(p2, sigma).id)));
        if (from === undefined) names.push(name);
        else g.mirrors.push({ name, nodes: nodesOf(name) });
      }
      const eq: GraphEquation = {
        latex: `${names.join(' = ')} = ${rhs}`,
        twin: toInfix(shown.p2),
        samples: () =>
          maps.flatMap((m) =>
            GraphDoc.pixels(m.shape).flatMap((q) => {
              const env: Record<string, number> = { ...m.consts };
              for (const [v, a] of Object.entries(m.args)) env[v] = doc.valueAt(a, m, q);
              const swapped: Record<string, number> = { ...env };
              for (const [a, b] of sigma ?? []) swapped[a] = env[b]!;
              return [
                ...nodes.map((x) => ({ scope: env, expected: evaluate(x.p2, env) })),
                ...g.mirrors.flatMap((x) => x.nodes.map((p2) => ({ scope: swapped, expected: evaluate(p2, env) }))),
              ];
            }),
          ),
      };
      return { g, eq, long: rhs !== texts[best] };
    });
    const longOnes = eqs.some((e) => e.long);
    w.p(
      `The second partials written by name ($F_{ab}$ is $\\partial^2 F / \\partial a \\, \\partial b$ for a map $F$ named by a letter or a word), each a function of its map's own variables (evaluated pixel by pixel on the map's arguments, at every scale for a map used at several), as the scalar graph holds them; one name stands for both orders of differentiation, which the check evaluates both${longOnes ? ', and one too long to print is the derivative of a first partial (above), its twin the whole expression' : ''}:`,
    );
    const numbers = eqs.map((e) => put(e.eq).number);
    const mirrored = eqs.flatMap((e, i) => (e.g.mirrors.length === 0 ? [] : [numbers[i]!]));
    if (mirrored.length > 0) {
      const sigma = mirrorOf(eqs.find((e) => e.g.mirrors.length > 0)!.g.n)!;
      const pairs = [...sigma].filter(([a, b]) => a < b || !sigma.has(b)).map(([a, b]) => `${VAR_TEX[a] ?? a} \\leftrightarrow ${VAR_TEX[b] ?? b}`);
      w.p(`Exchanging the images ($${pairs.join(',\\ ')}$) in ${mirrored.length === 1 ? 'eq.' : 'eqs.'} ${rangeText(mirrored)}, names and right sides, gives the second partials named nowhere above, node for node in the scalar graph (checked so: the printed twins evaluated on the exchanged arguments).`);
    }
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

  /** `lhs = the tangent of term`, its LaTeX only. */
  latex(lhs: string, term: Term): string {
    return `${lhs} = ${this.tex(term) ?? '0'}`;
  }

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

  /**
   * LaTeX of a term's tangent, or null where it is zero (the seed). With `family`, the step through
   * that map is written for any of its arguments v (\partial F / \partial v, the sum over u of
   * \partial^2 F / \partial v \, \partial u), one equation for the adjoints of all its arguments.
   */
  tex(term: Term, family?: MapNode): string | null {
    const t = view(term);
    const doc = this.doc;
    switch (t.k) {
      case 'seed':
        return null;
      case 'adj':
        return dotTex(doc.adjointOf(t.node));
      case 'sum': {
        const parts = t.terms.map((s) => this.tex(s, family)).filter((s): s is string => s !== null);
        return parts.length === 0 ? null : parts.join(' + ');
      }
      case 'T': {
        const inner = this.tex(t.arg, family);
        if (inner === null) return null;
        return `${LINEAR_RULES[t.node.spec.kind].symbol}^\\top ${wrap(inner)}`;
      }
      case 'reduce': {
        const inner = this.tex(t.arg, family);
        if (inner === null) return null;
        const arg = wrap(inner);
        return t.node.how === 'sum' || t.node.how === 'planeSum' ? arg : `\\frac{1}{${doc.countTex(t.node)}} ${arg}`;
      }
      case 'scale': {
        const n = t.node;
        const sym = family !== undefined && family.id === n.id;
        const vt = sym ? 'v' : (VAR_TEX[t.v] ?? t.v);
        const parts: string[] = [];
        const inner = this.tex(t.arg, family);
        const p = t.partial;
        if (inner !== null) {
          const pt = sym ? `\\frac{\\partial ${fieldTop(doc, n)}}{\\partial v}` : this.partialTex(n, t.v, p);
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
          const many = sum.length > 2 || sym;
          // u over the map's arguments (the section's prose says so; zero terms add nothing)
          const over = `\\sum_{u} ${secondTex(doc, n, vt, 'u')} \\odot \\dot{u}`;
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
            if (dagSize([s.p2]) <= SMALL) return `(${toInfix(renamed(n, s.p2, prefix))}) * ${d}`;
            // a second partial written by name: its value here, as an adjoint is (its own equation checks its expression)
            const h = fresh();
            scope[h] = doc.partialValue(n, s.p2, q);
            return `${h} * ${d}`;
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
