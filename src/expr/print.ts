/**
 * The infix printer: a precedence-aware string in mathjs syntax that mathjs parses back to the
 * same function (sums print differences, products print quotients, x^(1/2) prints sqrt(x)). Each
 * op's spelling is its row's `infix` (ops.ts). `step` has no mathjs builtin; evaluate printed
 * strings with `mathjsScope` (see mathjs.ts).
 */
import type { Node } from './node.js';
import type { InfixPrinter, Printed } from './notation.js';
import { rules } from './ops.js';

/** The expression as an infix string in mathjs syntax. */
export function toInfix(node: Node): string {
  const memo = new Map<number, Printed>();
  const printer: InfixPrinter = {
    go(n) {
      const hit = memo.get(n.id);
      if (hit !== undefined) return hit;
      const out = rules[n.op].infix(n, printer);
      memo.set(n.id, out);
      return out;
    },
    wrap: (p, min) => (p.prec < min ? `(${p.text})` : p.text),
  };
  return printer.go(node).text;
}
