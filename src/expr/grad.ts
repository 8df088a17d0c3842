/**
 * Symbolic reverse mode. One sweep over the DAG, in reverse topological order, turns the
 * adjoint of each node into adjoint contributions for its arguments (adjoint times the local
 * derivative from the op table). The results are ordinary interned nodes, so they share every
 * subexpression with the forward graph and with each other.
 */
import { add, mul, ONE, ZERO } from './build.js';
import { topoSort, type Node } from './node.js';
import { rules } from './ops.js';

/**
 * Vector-Jacobian product: sum_k seeds[k] * d outputs[k] / d v for each v in `wrt`.
 * With one output and seed 1 this is the gradient.
 */
export function vjp(outputs: readonly Node[], seeds: readonly Node[], wrt: readonly Node[]): Node[] {
  if (outputs.length !== seeds.length) throw new Error('vjp: one seed per output');
  const contributions = new Map<number, Node[]>();
  const push = (n: Node, c: Node): void => {
    if (c === ZERO) return;
    const list = contributions.get(n.id);
    if (list === undefined) contributions.set(n.id, [c]);
    else list.push(c);
  };
  outputs.forEach((o, k) => push(o, seeds[k]!));
  const adjoint = new Map<number, Node>();
  const order = topoSort(outputs);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const list = contributions.get(node.id);
    if (list === undefined) continue;
    const bar = add(...list); // summed once, when every contribution is in
    adjoint.set(node.id, bar);
    if (bar === ZERO || node.args.length === 0) continue;
    const rule = rules[node.op];
    node.args.forEach((arg, i) => push(arg, mul(bar, rule.derivative(node, i))));
  }
  return wrt.map((v) => adjoint.get(v.id) ?? ZERO);
}

/** The partial derivatives of `output` with respect to each of `wrt`. */
export function grad(output: Node, wrt: readonly Node[]): Node[] {
  return vjp([output], [ONE], wrt);
}

/** d/d wrt of a single variable. */
export function diff(output: Node, v: Node): Node {
  return grad(output, [v])[0]!;
}

/** Gradients of several outputs: row k holds d outputs[k] / d wrt. */
export function jacobian(outputs: readonly Node[], wrt: readonly Node[]): Node[][] {
  return outputs.map((o) => grad(o, wrt));
}

/**
 * Jacobian-vector product, symbolic forward mode: the tangent of each output when each variable of
 * `wrt` moves along the matching node of `tangents`. One sweep in topological order, each node's
 * tangent the sum of its local derivatives (the op table's, as reverse mode takes them) times its
 * arguments' tangents; the tangents share every subexpression with the forward graph and with each
 * other, so the directional derivatives of several outputs (a map's partials) cost about one sweep.
 */
export function jvp(outputs: readonly Node[], wrt: readonly Node[], tangents: readonly Node[]): Node[] {
  if (wrt.length !== tangents.length) throw new Error('jvp: one tangent per variable');
  const tangent = new Map<number, Node>();
  wrt.forEach((v, k) => {
    if (v.op !== 'var') throw new Error('jvp: wrt must be variables');
    if (tangents[k] !== ZERO) tangent.set(v.id, tangents[k]!);
  });
  for (const node of topoSort(outputs)) {
    if (node.args.length === 0) continue;
    const rule = rules[node.op];
    const terms = node.args.flatMap((arg, i) => {
      const t = tangent.get(arg.id);
      return t === undefined ? [] : [mul(t, rule.derivative(node, i))];
    });
    if (terms.length > 0) tangent.set(node.id, add(...terms));
  }
  return outputs.map((o) => tangent.get(o.id) ?? ZERO);
}
