/**
 * The LaTeX printer over the expression graph: precedence-aware, quotients as \frac, named
 * intermediates printed by their names (A_1, \sigma_x^2, ...), variables by their LaTeX symbols.
 * It is the second printer over the same graph the kernels come from (SymPy's split); each op's
 * spelling is its row's `latex` (ops.ts).
 */
import type { Node } from './node.js';
import { ATOM, type LatexPrinter, type Printed } from './notation.js';
import { rules } from './ops.js';

export interface LatexNames {
  /** LaTeX of named intermediate nodes (by node id), printed instead of their expansion. */
  readonly nodes?: ReadonlyMap<number, string>;
  /** LaTeX of variables (by variable name); unnamed variables print as their name. */
  readonly vars?: Readonly<Record<string, string>>;
}

/** LaTeX of `node`; `names` says which nodes and variables have names of their own. */
export function toLatex(node: Node, names: LatexNames = {}): string {
  const memo = new Map<number, Printed>();
  const spell = (n: Node): Printed => {
    const hit = memo.get(n.id);
    if (hit !== undefined) return hit;
    const out = rules[n.op].latex(n, printer);
    memo.set(n.id, out);
    return out;
  };
  const printer: LatexPrinter = {
    go(n) {
      const named = names.nodes?.get(n.id);
      return named !== undefined ? { text: named, prec: ATOM } : spell(n);
    },
    wrap: (p, min) => (p.prec < min ? `\\left(${p.text}\\right)` : p.text),
    named: (n) => names.nodes?.get(n.id) !== undefined,
    variable: (name) => names.vars?.[name],
  };
  // the root prints as its expansion even when it has a name
  return spell(node).text;
}
