/**
 * The loss's own mistakes, generated per node kind from its graph (nothing here knows a variant):
 * for each pointwise map, linear node and mean outside the moment structures (a variant's
 * (1 - s)/d, the 3DGS loss's sum, MS-SSIM's product and pooling, a user's), the branch through one
 * argument left out or its sign flipped, the map's factor left out (or only its sign kept), two
 * constant weights swapped, the product rule left out, a transpose left out, unnormalised or
 * replaced by the forward, a mean taken as a sum. Their kinds name the node by its label
 * (`branch-dropped:loss.q`: the branch through q of the map labelled loss).
 */
import { grad, mul, neg, num, variable, variablesOf, type Node } from '../expr/index.js';
import { LINEAR_RULES } from '../graph/linear.js';
import { resolved, type LinearNode, type MapNode } from '../graph/node.js';
import { partialOf } from '../graph/pointwise.js';
import type { KnownMistake } from './context.js';
import { dependsThrough, type Anatomy } from './match.js';
import { known, linearSteps, partialSteps, wordsOf, type MistakeSpec } from './rewrite.js';

export const GRAPH_CORRECT =
  "reverse mode over the loss's graph: every node hands its adjoint to every argument it reads (a pointwise map times its partial " +
  'with respect to that argument, a linear operator through its transpose, a mean divided by its count), and the shares reaching an image add up';

/** A node's label as an id part: lower case letters, digits and dashes. */
const slug = (label: string): string => label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'node';

/** The loss's own mistakes, found in its graph (`a`: the graph of the images mistakesFor was given). */
export function outerMistakes(a0: Anatomy): KnownMistake[] {
  const out: KnownMistake[] = [];
  const seen = new Map<string, number>();
  const unique = (kind: string): string => {
    const k = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, k);
    return k === 1 ? kind : `${kind}-${k}`;
  };
  // a context's graph has the same structure: its nodes are found by their place in the lists
  const mapAt = (i: number, label: string) => (a: Anatomy): MapNode | null => (a.outerMaps[i]?.label === label ? a.outerMaps[i]! : null);
  const add1 = (spec: MistakeSpec, scaleOnly: boolean): void => {
    const kind = unique(spec.kind);
    out.push(known({ ...spec, kind }, { ...wordsOf(spec), kind }, scaleOnly));
  };

  // the maps nearest the loss first: where two rewrites give one gradient (the L1 term left out, or x's branch of |x - y|), the loss's own reading names it
  [...a0.outerMaps.entries()].reverse().forEach(([i, m0]) => {
    const at = mapAt(i, m0.label);
    const name = m0.label;
    const id = slug(name);
    const deps = Object.keys(m0.args).filter((v0) => dependsThrough(m0, v0));
    if (deps.length === 0) return;
    const exactPartial = partialOf;
    const sole = (arg: string): boolean => !a0.depends((n, x) => n.id === m0.id && x.id === m0.args[arg]!.id);
    if (deps.length >= 2) {
      for (const arg of deps) {
        add1(
          {
            kind: `branch-dropped:${id}.${slug(arg)}`,
            title: `the branch through ${arg} of ${name} left out`,
            explanation:
              `${name} reads ${deps.join(', ')}, each of which depends on the image, so its gradient is the sum over them of d ${name}/d arg times ` +
              `the argument's own gradient. The candidate leaves out the share through ${arg}, as if ${arg} were a constant (detached from the graph).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              // reverse mode hands a block's share to its fine graph's output
              return m === null ? null : { drop: (s) => s.from.id === m.id && s.to.id === resolved(m.args[arg]!, true).id };
            },
          },
          false,
        );
        add1(
          {
            kind: `branch-sign:${id}.${slug(arg)}`,
            title: `the sign of the branch through ${arg} of ${name} flipped`,
            explanation: `The candidate has the share of the gradient through ${arg} with the opposite sign: d ${name}/d ${arg} taken as its negative (a minus lost in 1 - ${arg}, or put in).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              return m === null ? null : { steps: [partialSteps((n, x) => (n.id === m.id && x === arg ? neg(exactPartial(m, arg)) : undefined))] };
            },
          },
          false,
        );
      }
    }
    for (const arg of deps) {
      const p0 = exactPartial(m0, arg);
      if (p0.op === 'const' && p0.value === 1) continue;
      const constant = variablesOf([p0]).length === 0;
      add1(
        {
          kind: `chain-factor-dropped:${id}.${slug(arg)}`,
          title: `d ${name}/d ${arg} left out of the chain rule`,
          explanation:
            `${name} is a function of ${Object.keys(m0.args).join(', ')}, so the gradient reaching ${arg} carries d ${name}/d ${arg}. ` +
            `The candidate passes the gradient through as if ${name} were ${arg} itself (the factor taken as 1).`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => constant && sole(arg),
          plan: (a) => {
            const m = at(a);
            return m === null ? null : { steps: [partialSteps((n, x) => (n.id === m.id && x === arg ? num(1) : undefined))] };
          },
        },
        constant && sole(arg),
      );
    }
    // a constant factor -k (k != 1) taken as -1: the divisor of (1 - s)/d forgotten, the weight of a term left out
    for (const arg of deps) {
      const p0 = exactPartial(m0, arg);
      if (p0.op !== 'const' || !(p0.value < 0) || p0.value === -1) continue;
      const ok = sole(arg);
      add1(
        {
          kind: `chain-factor-scale-dropped:${id}.${slug(arg)}`,
          title: `the constant of d ${name}/d ${arg} = ${p0.value} left out (only its sign kept)`,
          explanation:
            `d ${name}/d ${arg} is the constant ${p0.value}: a sign and a factor ${-p0.value} (a divisor, a weight). The candidate keeps the sign and forgets the factor.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => ok,
          plan: (a) => {
            const m = at(a);
            return m === null ? null : { steps: [partialSteps((n, x) => (n.id === m.id && x === arg ? num(-1) : undefined))] };
          },
        },
        ok,
      );
    }
    // two branches with constant weights: the weights swapped (lambda and 1 - lambda of a weighted sum)
    if (deps.length === 2) {
      const [p1, p2] = deps.map((arg) => exactPartial(m0, arg));
      if (p1!.op === 'const' && p2!.op === 'const' && Math.abs(p1!.value) !== Math.abs(p2!.value) && p1!.value !== 0 && p2!.value !== 0) {
        const swapped: Record<string, number> = { [deps[0]!]: Math.sign(p1!.value) * Math.abs(p2!.value), [deps[1]!]: Math.sign(p2!.value) * Math.abs(p1!.value) };
        add1(
          {
            kind: `weights-swapped:${id}`,
            title: `the weights of ${deps.join(' and ')} in ${name} swapped`,
            explanation:
              `d ${name}/d ${deps[0]} = ${p1!.value} and d ${name}/d ${deps[1]} = ${p2!.value}: each branch carries its own weight. ` +
              `The candidate weights each branch by the other's (${swapped[deps[0]!]} and ${swapped[deps[1]!]}).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              return m === null ? null : { steps: [partialSteps((n, x) => (n.id === m.id && x in swapped ? num(swapped[x]!) : undefined))] };
            },
          },
          false,
        );
      }
    }
    // a product of factors each over its own arguments: the product rule's other factors left out
    if (m0.expr.op === 'mul' && deps.length >= 2) {
      const factorsOf = (m: MapNode, arg: string): Node[] => m.expr.args.filter((f) => variablesOf([f]).includes(arg));
      const separate = deps.every((arg) => factorsOf(m0, arg).every((f) => [...variablesOf([f])].every((u) => u === arg || !deps.includes(u))));
      if (separate) {
        add1(
          {
            kind: `product-rule-dropped:${id}`,
            title: `${name} differentiated as a sum of its factors (the product rule's other factors left out)`,
            explanation:
              `${name} is a product of factors over ${deps.join(', ')}, so by the product rule d/d(one argument) carries every other factor. ` +
              `The candidate differentiates each factor alone, as if ${name} were their sum.`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              if (m === null) return null;
              return {
                steps: [
                  partialSteps((n, x) => {
                    if (n.id !== m.id || !deps.includes(x)) return undefined;
                    const own = factorsOf(m, x);
                    return grad(own.length === 1 ? own[0]! : mul(...own), [variable(x)])[0]!;
                  }),
                ],
              };
            },
          },
          false,
        );
      }
    }
  });

  // linear operators outside the windows (pooling, downsampling, channel mixes, a user's window), by kind
  const kinds = [...new Set(a0.outerLinear.map((n) => n.spec.kind))];
  for (const kind of kinds) {
    const rule = LINEAR_RULES[kind];
    const nodesOf = (a: Anatomy): Set<LinearNode> => new Set(a.outerLinear.filter((n) => n.spec.kind === kind));
    const sole = !a0.depends((n) => n.kind === 'linear' && n.spec.kind === kind && a0.outerLinear.includes(n));
    add1(
      {
        kind: `transpose-dropped:${kind}`,
        title: `what passes through ${rule.symbol} (${kind}) left out: its transpose missing`,
        explanation:
          `Everything computed after ${rule.symbol} (which ${rule.forward}) depends on the image through it, so its share of the gradient must come back ` +
          `through ${rule.symbol}^T, which ${rule.transpose}. The candidate leaves that share out, as if the output of ${rule.symbol} were detached from the graph.`,
        correctFormula: GRAPH_CORRECT,
        scaleOnly: () => false,
        plan: (a) => {
          const nodes = nodesOf(a);
          return nodes.size === 0 ? null : { drop: (s) => s.from.kind === 'linear' && nodes.has(s.from) };
        },
      },
      false,
    );
    // an operator from a grid to the same grid (a channel mix, a window of the user's): the forward used as its own transpose
    const square = (n: LinearNode): boolean => n.shape.join() === n.arg.shape.join();
    if (a0.outerLinear.some((n) => n.spec.kind === kind && square(n))) {
      add1(
        {
          kind: `forward-as-transpose:${kind}`,
          title: `${rule.symbol} used as its own transpose`,
          explanation:
            `${rule.symbol} ${rule.forward}; what comes back through it must go through its transpose, which ${rule.transpose}. ` +
            `The candidate applies ${rule.symbol} itself, which is its transpose only where it is symmetric.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => false,
          plan: (a) => {
            const nodes = new Set([...nodesOf(a)].filter(square));
            return nodes.size === 0 ? null : { steps: [linearSteps((n) => (nodes.has(n) ? { kind: 'forward', spec: n.spec, op: n.op } : null))] };
          },
        },
        false,
      );
    }
    const unnormalised = (n: LinearNode): number | null => (n.spec.kind === 'pool' ? 4 : n.spec.kind === 'downsample' ? n.spec.f * n.spec.f : null);
    if (a0.outerLinear.some((n) => n.spec.kind === kind && unnormalised(n) !== null)) {
      add1(
        {
          kind: `transpose-unnormalised:${kind}`,
          title: `${rule.symbol}^T without its normalisation: plain upsampling`,
          explanation:
            `${rule.symbol} ${rule.forward}: each input pixel enters with the weight 1/(the block's size), so its transpose ${rule.transpose}, with that weight. ` +
            `The candidate copies each value into its block without it (nearest-neighbour upsampling), so what comes back through ${rule.symbol} is too large by the block's size.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => sole,
          plan: (a) => {
            const nodes = nodesOf(a);
            return nodes.size === 0
              ? null
              : { steps: [linearSteps((n) => (nodes.has(n) ? { kind: 'transpose', spec: n.spec, op: n.op, scale: unnormalised(n)! } : null))] };
          },
        },
        sole,
      );
    }
  }

  // means outside the blocks (a variant's own L1 term, MS-SSIM's mean over planes, a weighted mean)
  a0.outerReduces.forEach((r0, i) => {
    if (r0.how !== 'mean' && r0.how !== 'planeMean') return;
    const label = r0.arg.label;
    const sole = !a0.depends((n) => n.id === r0.id);
    add1(
      {
        kind: `mean-count-dropped:${slug(label)}`,
        title: `the mean of ${label} differentiated as a sum (its 1/count left out)`,
        explanation: `The mean of ${label} averages its values, so d/d(each value) is 1/count. The candidate differentiates their sum: this share of the gradient is count times too large.`,
        correctFormula: GRAPH_CORRECT,
        scaleOnly: () => sole,
        plan: (a) => {
          const r = a.outerReduces[i];
          return r === undefined || r.arg.label !== label ? null : { count: (n) => (n.id === r.id ? 1 : undefined) };
        },
      },
      sole,
    );
  });
  return out;
}

