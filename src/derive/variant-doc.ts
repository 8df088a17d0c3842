/**
 * The derivation document of any variant, from its declaration (src/variants/<name>.ts: its
 * summary and `doc` prose) and its field graph: the graph's forward equations, each windowed map
 * derived once (its moments, its local partials, reverse mode down to its images), reverse mode
 * over the loss, and the gradient with respect to x and y, all read off the graph (graph-doc.ts).
 * Built-in variants and a user's (`ssim-grad derive --variant-file F`) go through the same code;
 * nothing here knows a variant by name.
 */
import { toInfix, type Node } from '../expr/index.js';
import { toLatex } from '../expr/latex.js';
import { InputError, type Tensor } from '../field/index.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { resolved, topoOrder, type BlockNode, type FieldNode, type MapNode } from '../graph/node.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';
import { BUILT_IN_VARIANTS } from '../variants/registry.js';
import { variantGraph, type VariantGraph } from '../variants/evaluate.js';
import type { DocBlock, VariantDeclaration } from '../variants/types.js';
import { blockTex, GraphDoc, NAMED_TEX, namedIntermediates, sampleRun, withFunctions, type GraphEquation, type SampleRun } from './graph-doc.js';
import type { DerivationDoc } from './model.js';
import { checkDerivable, lcg, Writer } from './build.js';
import { forwardSection } from './forward-doc.js';

export interface DeriveVariantOptions {
  /** SSIM options and the variant's own options (as the library takes them: `{ preset, lambda, ... }`). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** File stem (default: the variant's name). */
  readonly name?: string;
  readonly title?: string;
  readonly summary?: string;
  /** Which declared blocks to include: those without `only`, and those whose `only` is this. */
  readonly only?: string;
}

/**
 * Sample images for a variant's twins: the smallest of a few sizes, with 2, 3 or 1 channels, that
 * its options and its loss accept (a loss may refuse images by its own rules: luma needs 3 channels).
 */
function sampleGraph(decl: VariantDeclaration, options: Readonly<Record<string, unknown>>): { vg: VariantGraph; sample: NonNullable<DerivationDoc['sample']> } {
  // the data range the sample images span: the SSIM options, without the variant's own
  const own = decl.options ?? {};
  const config = resolveOptions(Object.fromEntries(Object.entries(options).filter(([k]) => !(k in own) && k !== 'variant')) as SsimOptions);
  checkDerivable(config, options);
  const L = config.dataRange;
  let last: unknown;
  for (const side of [14, 24, 40, 72, 170]) for (const channels of [2, 3, 1]) {
    const shape = [1, channels, side, side + 1];
    const rand = lcg(0x5eed + side);
    const n = shape.reduce((a, b) => a * b, 1);
    const x: Tensor = { shape, data: Float64Array.from({ length: n }, () => rand() * L) };
    const y: Tensor = { shape, data: Float64Array.from(x.data, (v) => Math.min(L, Math.max(0, v + 0.3 * L * (rand() - 0.5)))) };
    const fields: Record<string, Tensor> = {};
    for (const [k, o] of Object.entries(decl.options ?? {})) {
      if (o.kind === 'field' && options[k] === undefined) fields[k] = { shape, data: Float64Array.from({ length: n }, () => rand()) };
    }
    try {
      return { vg: variantGraph(x, y, { ...options, ...fields, variant: decl }), sample: { x, y, options: { ...options, ...fields } } };
    } catch (e) {
      // a user's loss may refuse a shape with any error: try the next; the last one is reported
      last = e;
    }
  }
  throw last;
}

const optionText = (v: unknown): string => (Array.isArray(v) ? v.join(', ') : String(v));

/** The derivation document of a variant, from its declaration and its graph. */
export function deriveVariant(decl: VariantDeclaration, opts: DeriveVariantOptions = {}): DerivationDoc {
  const options = opts.options ?? {};
  const { vg, sample } = sampleGraph(decl, options);
  const w = new Writer();
  const inputs = topoOrder([vg.loss], false).filter((n) => n.kind === 'input');
  const img = (name: string): FieldNode => inputs.find((n) => n.kind === 'input' && n.name === name)!;
  let run: SampleRun | undefined;
  const shared = (): SampleRun => (run ??= sampleRun(vg.loss, vg.inputs));
  const outer = new GraphDoc({ output: vg.loss, expand: false, targets: [{ node: img('x'), tex: 'x' }, { node: img('y'), tex: 'y' }], outputTex: '\\mathcal{L}', run: shared });
  const put = (e: GraphEquation | null, gradient?: 'x' | 'y'): void => {
    if (e !== null) w.eq(e.latex, e.twin, withFunctions(e.samples), gradient);
  };
  const finish = (): DerivationDoc => {
    const direction = forwardSection(w, { loss: vg.loss, inputs: vg.inputs, lossTex: '\\mathcal{L}', rand: lcg(0xd07) });
    return {
      name: opts.name ?? decl.name,
      title: opts.title ?? `${decl.name}: ${decl.summary}, and its gradient`,
      summary: opts.summary ?? decl.summary,
      blocks: w.blocks,
      sample: { ...sample, direction },
    };
  };

  w.p(
    `${decl.summary}. This document is generated from the variant's declaration and its field graph by \`deriveVariant\` (src/derive): every equation is printed from the graph, and its twin (shown under each equation in the HTML) is checked against ssim-grad's evaluator on sample images.`,
  );
  for (const b of declared(decl.doc ?? [], opts.only)) {
    if ('p' in b) w.p(b.p);
    else if ('h2' in b) w.h2(b.h2, slug(b.h2));
    else if ('eq' in b) throw new InputError(`variant ${decl.name}: a declared equation needs to come from the graph; write it as prose or let the graph print it`);
  }
  const config = vg.config;
  const own = Object.entries(vg.variant.values).map(([k, v]) => [k, optionText(v)]);
  w.table(
    ['option', 'value'],
    [
      ...own,
      ['SSIM preset', config.preset],
      ['window', `${config.window}, ${config.taps.length} taps${config.window === 'gaussian' ? `, sigma ${config.sigma}` : ''}, boundary ${config.padding}`],
      ['constants', `C1 = ${config.C1}, C2 = ${config.C2}${config.sampleCovariance ? ', sample covariance' : ''}`],
    ].map((r) => r.map(String)),
  );

  // ---- forward ----
  w.h2('The loss as a graph', 'graph');
  w.p(
    'Each node of the loss, in the order it is computed: linear operators by their symbols (the table of src/graph/linear.ts), pointwise maps printed from the scalar graph, reductions, and windowed maps $\\langle F \\rangle$ (the mean of a map $F$ of the window moments over the region $\\Omega$, derived in the sections after this one).',
  );
  const blocks: BlockNode[] = [];
  for (const n of outer.nodes) {
    if (n.kind === 'block') blocks.push(n);
    put(outer.forward(n));
  }
  operatorTable(w, outer.nodes);

  // ---- each windowed map once ----
  const distinct = new Map<string, BlockNode[]>();
  for (const b of blocks) {
    const F = resolved(b.parts.map!, true) as MapNode;
    const key = `${F.expr.id}|${b.reduce}`;
    distinct.set(key, [...(distinct.get(key) ?? []), b]);
  }
  // the evaluator's gradient, which the document's assembled gradient is checked against
  let fused: { x: Float64Array; y: Float64Array } | undefined;
  // a windowed map without generated kernels runs on its fine graph (the evaluator's fused path needs kernels)
  const kernelless = topoOrder([vg.loss], false).some((n) => n.kind === 'block' && n.map.kernels === null);
  const grads = () => {
    if (fused === undefined) {
      const r = evaluateGraph(vg.loss, vg.inputs, { wrt: ['x', 'y'], fused: !kernelless, kernels: BLOCK_KERNELS });
      fused = { x: r.grads.x!, y: r.grads.y! };
    }
    return fused;
  };
  let whole = false;
  for (const [, group] of distinct) whole = blockSection(w, outer, group, shared, { x: img('x'), y: img('y') }, grads) || whole;
  // the loss is one windowed map of the images themselves: its section ended in the gradient
  if (whole) return finish();

  // ---- reverse mode over the loss ----
  w.h2('Reverse mode over the loss', 'reverse');
  w.p(
    'Reverse mode starts from $\\overline{\\mathcal{L}} = 1$ and hands each node\'s adjoint to its arguments: a linear operator $A$ by its transpose $A^\\top$, a map by its partials ($\\odot$: pixel by pixel), a mean by $1/N$ spread over what it averaged, a windowed map by its own gradient (above). An adjoint is named where several paths meet or a map of several fields takes it; elsewhere it is written out where it is used.',
  );
  const partials: Array<[MapNode, string, Node]> = [];
  for (const n of outer.nodes) {
    if (n.kind !== 'map') continue;
    for (const v of Object.keys(n.args)) {
      const p = outer.partialFor(n, v);
      if (outer.onPathOf(n.args[v]!) && outer.bigPartial(p)) partials.push([n, v, p]);
    }
  }
  for (const [n, v, p] of partials) {
    const at = GraphDoc.pixels(n.shape);
    put({ latex: `${outer.partialName(n, v)} = ${toLatex(p, outer.mapNames(n))}`, ...pointwiseTwin(outer, n, p, at) });
  }
  for (const n of outer.namedAdjoints()) {
    put(outer.termEquation(outer.adjointOf(n), outer.adjointTerm(n), GraphDoc.pixels(n.shape), () => outer.adjointValue(n)));
  }

  // ---- the gradient ----
  w.h2('The gradient', 'gradient');
  w.p('The adjoints that reach the images are the gradient, checked at sample pixels against the evaluator\'s gradient (its windowed maps on their generated kernels where they have some):');
  for (const which of ['x', 'y'] as const) {
    const node = img(which);
    put(outer.termEquation(`\\frac{\\partial \\mathcal{L}}{\\partial ${which}}`, outer.adjointTerm(node), GraphDoc.pixels(node.shape), () => grads()[which]), which);
  }
  return finish();
}

/** The linear operators a section uses: symbol, and what the forward and the transpose do (LINEAR_RULES' words). */
function operatorTable(w: Writer, nodes: readonly FieldNode[]): void {
  const seen = new Set<string>();
  const rows = nodes.filter((n) => n.kind === 'linear' && !seen.has(n.spec.kind) && seen.add(n.spec.kind)).map((n) => linearRow(n));
  if (rows.length > 0) w.table(['operator', 'forward', 'transpose'], rows);
}

function linearRow(n: FieldNode): string[] {
  if (n.kind !== 'linear') return [];
  const r = LINEAR_RULES_ROWS[n.spec.kind]!;
  return [`$${r.symbol}$`, r.forward, r.transpose];
}

import { LINEAR_RULES } from '../graph/linear.js';
import { BLOCK_KERNELS } from '../runtime/blocks.js';
const LINEAR_RULES_ROWS = LINEAR_RULES as unknown as Record<string, { symbol: string; forward: string; transpose: string }>;

/** A pointwise formula's twin: the expression's infix over the map's variables at sample pixels. */
function pointwiseTwin(doc: GraphDoc, n: MapNode, p: Node, at: readonly number[]): Pick<GraphEquation, 'twin' | 'samples'> {
  return {
    twin: toInfix(p),
    samples: () =>
      at.map((q) => {
        const env: Record<string, number> = { ...n.consts };
        for (const [v, a] of Object.entries(n.args)) env[v] = doc.valueAt(a, n, q);
        return { scope: env, expected: doc.partialValue(n, p, q) };
      }),
  };
}

/**
 * A windowed map, derived once from the fine graph of its first block (the others differ only in
 * their images). Its images keep the names the loss's graph gives them (x and y only when they are
 * the input images), and what they are computed from is the loss's (its forward equations and the
 * reverse mode over it). Returns whether the section ended in the gradient: only when the loss is
 * this map of the input images themselves, so that its reverse mode is the one over the whole loss.
 */
function blockSection(
  w: Writer,
  outer: GraphDoc,
  group: readonly BlockNode[],
  run: () => SampleRun,
  inputs: { readonly x: FieldNode; readonly y: FieldNode },
  grads: () => { x: Float64Array; y: Float64Array },
): boolean {
  const b = group[0]!;
  const F = resolved(b.parts.map!, true) as MapNode;
  const name = blockTex(b);
  // a block that is the loss itself starts reverse mode with 1
  const isLoss = resolved(b, true).id === resolved(outer.o.output, true).id;
  const isInput = (img: FieldNode, which: 'x' | 'y'): boolean => resolved(img, true).id === resolved(inputs[which], true).id;
  const onInputs = isInput(b.x, 'x') && isInput(b.y, 'y');
  const tex = { x: isInput(b.x, 'x') ? 'x' : outer.nameOf(b.x), y: isInput(b.y, 'y') ? 'y' : outer.nameOf(b.y) };
  const doc = new GraphDoc({
    output: b.expanded,
    expand: true,
    targets: [{ node: b.x, tex: tex.x }, { node: b.y, tex: tex.y }],
    outputTex: name,
    seedTex: isLoss ? undefined : `\\overline{${name}}`,
    regionCounts: true,
    fromTargets: true,
    run,
  });
  const put = (e: GraphEquation | null, gradient?: 'x' | 'y'): void => {
    if (e !== null) w.eq(e.latex, e.twin, withFunctions(e.samples), gradient);
  };
  // the images themselves are defined in the loss's graph (eq. above), never again here
  const targets = new Set([b.x, b.y].map((n) => resolved(n, true).id));
  const inside = doc.nodes.filter((n) => !targets.has(n.id));
  w.h2(`The windowed map ${b.label}`, `map-${F.label.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${b.reduce}`);
  const where = group.length > 1 ? ` It appears ${group.length} times (${group.map((g) => `$${outer.nameOf(g)}$`).join(', ')}); shown for the first, on its images $${tex.x}$, $${tex.y}$.` : onInputs ? '' : ` Its images are $${tex.x}$ and $${tex.y}$ (above).`;
  w.p(
    `$${name}$ is the mean of a pointwise map $${doc.nameOf(F)}$ of the window moments over the region $\\Omega$${b.reduce === 'planes' ? ' of each plane $p$ (image and channel)' : ''}.${where} The moments are windowed means $W$ of the images and their products; the statistics and the map, as the scalar graph holds them:`,
  );
  for (const n of inside) if ((n.kind === 'linear' && n.spec.kind === 'window') || (n.kind === 'map' && n.id !== F.id)) put(doc.forward(n));
  const at = GraphDoc.pixels(F.shape);
  for (const [nm, node] of namedIntermediates([F.expr, ...Object.keys(F.args).map((v) => doc.partialFor(F, v))])) {
    put({ latex: `${NAMED_TEX[nm]} = ${toLatex(node, doc.mapNames(F))}`, ...pointwiseTwin(doc, F, node, at) });
  }
  put(doc.forward(F));
  for (const n of inside) if (n.kind === 'reduce' || (n.kind === 'linear' && n.spec.kind !== 'window')) put(doc.forward(n));
  w.p('Its local partials, as the graph holds them after symbolic reverse mode:');
  for (const v of Object.keys(F.args)) {
    const p = doc.partialFor(F, v);
    put({ latex: `${doc.partialName(F, v)} = ${toLatex(p, doc.mapNames(F))}`, ...pointwiseTwin(doc, F, p, at) });
  }
  w.p(
    isLoss && onInputs
      ? `The loss is $${name}$ itself. Reverse mode from $\\overline{\\mathcal{L}} = 1$ down to the moments, and through the transposed windows and the products' partials to the images, which gives the gradient:`
      : isLoss
        ? `The loss is $${name}$ itself. Reverse mode from $\\overline{\\mathcal{L}} = 1$ down to the moments, and through the transposed windows and the products' partials to its images $${tex.x}$, $${tex.y}$ (reverse mode over the loss carries it on to $x$ and $y$):`
        : `Reverse mode from $\\overline{${name}}$ (the adjoint the loss hands it) down to the moments, and through the transposed windows and the products' partials to the images:`,
  );
  operatorTable(w, inside);
  for (const n of doc.namedAdjoints()) put(doc.termEquation(doc.adjointOf(n), doc.adjointTerm(n), GraphDoc.pixels(n.shape), () => doc.adjointValue(n)));
  for (const which of ['x', 'y'] as const) {
    const img = which === 'x' ? b.x : b.y;
    const lhs = isLoss && onInputs
      ? `\\frac{\\partial \\mathcal{L}}{\\partial ${which}}`
      : isLoss
        ? `\\frac{\\partial ${outer.nameOf(b)}}{\\partial ${tex[which]}}`
        : `\\left(\\frac{\\partial ${name}}{\\partial ${tex[which]}}\\right)^{\\!\\top} \\overline{${name}}`;
    // the whole gradient is checked against the evaluator's; a block's share against the block's own
    const expected = isLoss && onInputs ? () => grads()[which] : () => doc.blockGradient(b, which);
    put(doc.termEquation(lhs, doc.adjointTerm(img), GraphDoc.pixels(img.shape), expected), isLoss && onInputs ? which : undefined);
  }
  return isLoss && onInputs;
}

function declared(blocks: readonly DocBlock[], only: string | undefined): DocBlock[] {
  return blocks.filter((b) => !('document' in b) && ((b as { only?: string }).only === undefined || (b as { only?: string }).only === only));
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** The documents a declaration asks for (its `document` blocks), or one named after it. */
export function declaredDocuments(decl: VariantDeclaration): DeriveVariantOptions[] {
  const docs = (decl.doc ?? []).filter((b): b is Extract<DocBlock, { document: string }> => 'document' in b);
  if (docs.length === 0) return [{}];
  return docs.map((d) => ({ name: d.document, title: d.title, summary: d.summary, options: d.options, only: d.document }));
}

/** The built-in variants' documents: every built-in that declares `doc`, each document it asks for. */
export function variantDerivations(): DerivationDoc[] {
  return BUILT_IN_VARIANTS.filter((d) => d.doc !== undefined && d.doc.length > 0).flatMap((d) => declaredDocuments(d).map((o) => deriveVariant(d, o)));
}
