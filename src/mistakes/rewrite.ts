/**
 * A mistake as a rewrite of the loss's adjoint program (src/graph/adjoint.ts), and the runner:
 * the program of the context's graph, rewritten (which steps take which rule instead, or none; the
 * seed), run over the context's one shared forward pass. On a strip or a tile the counts of the
 * means are set so that the result is the whole images' gradient at the kept pixels.
 */
import { sizeOf } from '../field/index.js';
import type { Node } from '../expr/index.js';
import { adjointProgram, rewriteProgram, type AdjointProgram, type ProgramRewrite, type Step, type StepRewrite, type StepRule } from '../graph/adjoint.js';
import type { GraphResult } from '../graph/evaluate.js';
import type { FieldNode, LinearNode, MapNode, ReduceNode } from '../graph/node.js';
import { partialOf } from '../graph/pointwise.js';
import type { GradientTerms, SsimEvaluation } from '../runtime/index.js';
import { runVariant } from '../runtime/variants.js';
import { memo, type KnownMistake, type MistakeContext } from './context.js';
import { anatomy, type Anatomy } from './match.js';

/** A mistake's rewrite of the program: step rewrites and a seed, with counts in the whole images' terms, and which image. */
export interface Plan {
  /** Which steps take which rule instead, in turn. */
  readonly steps?: readonly StepRewrite[];
  /** Which steps are left out (edges dropped from the chain rule), after the rules are rewritten. */
  readonly drop?: (s: Step) => boolean;
  readonly seed?: number;
  /** The count a mean divides by, given its count over the whole images. */
  readonly count?: (node: ReduceNode, whole: number) => number | undefined;
  /** The gradient with respect to the other image. */
  readonly otherImage?: boolean;
}

/** A mistake of the library: its words, when it is a pure scale, and its rewrite of a graph (null: does not apply). */
export interface MistakeSpec {
  readonly kind: string;
  readonly title: string;
  readonly explanation: string;
  readonly correctFormula: string;
  readonly scaleOnly: (a: Anatomy) => boolean;
  readonly plan: (a: Anatomy, ctx: MistakeContext) => Plan | null;
}

// ---- patterns and replacements --------------------------------------------------------------

/** The steps out of the linear nodes `rule` gives a rule for take it (null from `rule`: the exact one kept). */
export function linearSteps(rule: (node: LinearNode) => StepRule | null): StepRewrite {
  return {
    match: (s) => s.from.kind === 'linear' && rule(s.from) !== null,
    replace: (s) => rule(s.from as LinearNode)!,
  };
}

/** A map's partials replaced where `partial` gives one (undefined: the exact one kept). */
export function partialSteps(partial: (node: MapNode, v: string) => Node | undefined): StepRewrite {
  const of = (s: Step): Node | undefined => (s.rule.kind === 'partial' && s.from.kind === 'map' ? partial(s.from, s.rule.variable) : undefined);
  return { match: (s) => of(s) !== undefined, replace: (s) => ({ kind: 'partial', variable: s.via, partial: of(s)! }) };
}

/** The partials of the moment maps rewritten from their exact ones (P(name) gives an exact partial). */
export function momentPartials(a: Anatomy, rewrite: (arg: string, P: (name: string) => Node) => Node | undefined): StepRewrite {
  const maps = new Map(a.moments.map((m) => [m.map.id, m.map] as const));
  return partialSteps((node, arg) => {
    const m = maps.get(node.id);
    return m === undefined ? undefined : rewrite(arg, (name) => partialOf(m, name));
  });
}

// ---- running a rewrite ----------------------------------------------------------------------

/** omega of one averaged map pixel in a plain SSIM evaluation. */
const omegaOf = (e: SsimEvaluation): number => e.weights.find((w) => w > 0)!;

/** The count steps' rewrite: a rule of the counts (undefined keeps a step's). */
const countSteps = (count: (node: ReduceNode, c: number) => number | undefined): StepRewrite => {
  const of = (s: Step): number | undefined => (s.rule.kind === 'count' && s.from.kind === 'reduce' ? count(s.from, s.rule.count) : undefined);
  return { match: (s) => of(s) !== undefined, replace: (s) => ({ ...(s.rule as Extract<StepRule, { kind: 'count' }>), count: of(s)! }) };
};

/** The context's program wrt one image over its fine graph (with every edge when recorded), built once. */
function baseProgram(ctx: MistakeContext, a: Anatomy, side: 'x' | 'y', record: boolean): AdjointProgram {
  const counts = ctx.tile?.counts;
  return memo(ctx, `program:${side}:${record}`, () => adjointProgram(a.vg.loss, { wrt: [side], expand: true, every: record, ...(counts !== undefined ? { counts } : {}) }));
}

/**
 * The rewrite evaluated: the gradient with respect to the context's image (the other one for
 * otherImage) and, with `record`, what reached that image through the moment windows and maps.
 * On a strip (ctx.whole) every count is set so that rho (the whole images' omega over the strip's)
 * times the strip's gradient is the whole images' at the kept pixels: the means inside blocks are
 * scaled by rho already, the others (over image-sized fields) take the whole images' count. On a
 * pinned tile (ctx.tile) the program has the whole images' counts, and the tile's pinned forward
 * pass is the one shared.
 */
export function run(ctx: MistakeContext, a: Anatomy, plan: Plan, record: boolean): { grad: Float64Array; terms: GradientTerms | null } {
  const { program, side } = programFor(ctx, a, plan, record);
  const t = ctx.tile;
  // one forward pass for every rewrite of this context: they change reverse mode only
  // (the pieces' recorded evaluation is that forward pass, of the same graph, where the context has them)
  const forward =
    t !== undefined
      ? t.forward
      : memo(ctx, 'forward', () => (ctx.pieces?.graph === a.vg ? ctx.pieces.record.values : runVariant(a.vg, { fused: false, record: true }).values));
  const r = runVariant(a.vg, { program, record, forward });
  return { grad: r.grads[side]!, terms: record ? termsOf(a, r, side) : null };
}

/** The plan's rewrite of the context's program (see run), and the image it differentiates for. */
export function programFor(ctx: MistakeContext, a: Anatomy, plan: Plan, record = false): { program: AdjointProgram; side: 'x' | 'y' } {
  const t = ctx.tile;
  const w = t === undefined ? ctx.whole : undefined;
  const rho = w === undefined ? 1 : w.omega / omegaOf(ctx.e);
  const work = a.moments[0]?.x.shape ?? a.vg.shape;
  const ratio = w === undefined ? 1 : (w.N * w.C * w.H * w.W) / sizeOf(work);
  const count =
    t !== undefined
      ? plan.count
      : plan.count === undefined && w === undefined
        ? undefined
        : (node: ReduceNode, c: number): number | undefined => {
            const inner = a.inner.has(node.id);
            const whole = inner ? c / rho : c * ratio;
            const m = plan.count?.(node, whole);
            if (m === undefined) return inner || w === undefined ? undefined : rho * whole;
            return rho * m;
          };
  // the rule rewrites first, then the counts, then the steps left out (as reverse mode would drop what a rewritten rule gave)
  const rewrite: ProgramRewrite = {
    steps: [...(plan.steps ?? []), ...(count !== undefined ? [countSteps(count)] : []), ...(plan.drop !== undefined ? [{ match: plan.drop, replace: () => null }] : [])],
    ...(plan.seed !== undefined ? { seed: plan.seed } : {}),
  };
  const side = plan.otherImage === true ? (ctx.wrt === 'x' ? 'y' : 'x') : ctx.wrt;
  return { program: rewriteProgram(baseProgram(ctx, a, side, record), rewrite), side };
}

/** What reached the image through the one moment structure's windows and maps (null: not one). */
function termsOf(a: Anatomy, r: GraphResult, side: 'x' | 'y'): GradientTerms | null {
  if (a.moments.length !== 1) return null;
  const m = a.moments[0]!;
  const img = side === 'x' ? m.x : m.y;
  const sum = (from: FieldNode, via: string): Float64Array => {
    const out = new Float64Array(sizeOf(img.shape));
    for (const c of r.contributions) if (c.from.id === from.id && c.to.id === img.id && c.via === via) for (let i = 0; i < out.length; i++) out[i]! += c.value[i]!;
    return out;
  };
  const square = side === 'x' ? m.square.x : m.square.y;
  const viaImage = (n: MapNode): string => Object.keys(n.args).find((k) => n.args[k]!.id === img.id) ?? side;
  return {
    mean: sum(side === 'x' ? m.windows.mu_x : m.windows.mu_y, 'arg'),
    square: sum(square, viaImage(square)),
    cross: sum(m.cross, viaImage(m.cross)),
  };
}

/** True when the gradient is zero everywhere (the rewrite cut every path: no mistake to name). */
const allZero = (g: Float64Array): boolean => g.every((v) => v === 0);

/** The words of a spec. */
export const wordsOf = (s: MistakeSpec) => ({ kind: s.kind, title: s.title, explanation: s.explanation, correctFormula: s.correctFormula });

/** A spec as a known mistake of the library, under the given words (built and its terms taken once per context). */
export function known(spec: MistakeSpec, words: { kind: string; title: string; explanation: string; correctFormula: string }, scaleOnly: boolean): KnownMistake {
  const evaluate = (ctx: MistakeContext, record: boolean) => {
    const a = anatomy(ctx);
    const plan = spec.plan(a, ctx);
    if (plan === null) return null;
    const r = run(ctx, a, plan, record);
    return allZero(r.grad) ? null : r;
  };
  return {
    ...words,
    scaleOnly,
    program: (ctx) => {
      const a = anatomy(ctx);
      const plan = spec.plan(a, ctx);
      return plan === null ? null : { ...programFor(ctx, a, plan), graph: a.vg };
    },
    terms: (ctx) => memo(ctx, `terms:${words.kind}`, () => evaluate(ctx, true)?.terms ?? null),
    build: (ctx) => memo(ctx, `build:${words.kind}`, () => evaluate(ctx, false)?.grad ?? null),
  };
}
