/** Substitution: a graph rebuilt with some variables replaced, each op through its row's `rebuild`. */
import type { Node } from './node.js';
import { rules } from './ops.js';

/**
 * Rebuilds `nodes` with some variables replaced by expressions, through the smart constructors
 * (so the result is interned and simplified like any other graph).
 */
export function substitute(nodes: readonly Node[], replacements: ReadonlyMap<string, Node>): Node[] {
  const memo = new Map<number, Node>();
  const rebuild = (n: Node): Node => {
    const hit = memo.get(n.id);
    if (hit !== undefined) return hit;
    const out = n.op === 'var' ? (replacements.get(n.name!) ?? n) : rules[n.op].rebuild(n, n.args.map(rebuild));
    memo.set(n.id, out);
    return out;
  };
  return nodes.map(rebuild);
}
