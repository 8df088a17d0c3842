/**
 * The scalar graph lowered into the kernel program: one `let` per node in topological order
 * (interning made common subexpressions shared nodes, so this is CSE for free), named by the
 * graph's display names where it has them. Each op's lowering is a row of `LOWER`, a
 * `Record<Op, ...>`, so an op without one does not compile. The arithmetic is 'acc': a printer
 * that emulates float32 rounds every operation, as the TypeScript string printer's `Math.fround` did.
 */
import { namedOutputs, topoSort, type Node, type Op } from '../expr/node.js';
import { real, type Expr, type Stmt, type ValueType } from './ir.js';

/** Straight-line code for some outputs of the scalar graph. */
export interface LoweredCode {
  readonly stmts: Stmt[];
  /** The variable each output ends up in (in scope after `stmts`). */
  readonly outputNames: string[];
  /** Floating-point operations per evaluation. */
  readonly flops: number;
}

interface Lowered {
  readonly e: Expr;
  readonly flops: number;
}

const one = (e: Expr): Lowered => ({ e, flops: 1 });
const lit = (v: number): Expr => real.lit(v, 'acc');

/** A sum as a left-to-right chain. */
function sum(a: readonly Expr[]): Lowered {
  let e = a[0]!;
  for (const t of a.slice(1)) e = real.add(e, t);
  return { e, flops: a.length - 1 };
}

/** A product as a chain; a leading -1 is a negation (exact), other constants lead. */
function product(n: Node, a: readonly Expr[]): Lowered {
  const negate = n.args[0]!.op === 'const' && n.args[0]!.value === -1 && a.length > 1;
  const factors = negate ? a.slice(1) : a;
  let e = factors[0]!;
  for (const t of factors.slice(1)) e = real.mul(e, t);
  if (negate) e = real.neg(e);
  return { e, flops: factors.length - 1 };
}

/** x ^ r: products, reciprocals and square roots for the common exponents, pow otherwise. */
function power(n: Node, x: Expr): Lowered {
  const r = n.rat!;
  switch (`${r.num}/${r.den}`) {
    case '2/1':
      return one(real.mul(x, x));
    case '-1/1':
      return one(real.div(lit(1), x));
    case '-2/1':
      return { e: real.div(lit(1), real.mul(x, x)), flops: 2 };
    case '1/2':
      return one(real.call('sqrt', x));
    case '-1/2':
      return { e: real.div(lit(1), real.call('sqrt', x)), flops: 2 };
    case '3/1':
      return { e: real.mul(real.mul(x, x), x), flops: 2 };
    // second partials have cubes in the denominator: a pow would round apart between Math.pow and std::pow
    case '-3/1':
      return { e: real.div(lit(1), real.mul(real.mul(x, x), x)), flops: 3 };
    default:
      return one(real.call('pow', x, lit(Number(r.num) / Number(r.den))));
  }
}

const LOWER: Record<Op, (n: Node, a: readonly Expr[], variable: (name: string) => Expr) => Lowered> = {
  const: (n) => ({ e: lit(n.value), flops: 0 }),
  var: (n, _, variable) => ({ e: variable(n.name!), flops: 0 }),
  add: (_, a) => sum(a),
  mul: (n, a) => product(n, a),
  pow: (n, [x]) => power(n, x!),
  exp: (_, [x]) => one(real.call('exp', x!)),
  log: (_, [x]) => one(real.call('log', x!)),
  abs: (_, [x]) => one(real.call('abs', x!)),
  // the maximum of two rounded values is one of them: no rounding (the printers know max is exact)
  max: (_, [a, b]) => one(real.call('max', a!, b!)),
  step: (_, [x]) => one(real.select({ k: 'bin', type: 'bool', op: '>', a: x!, b: lit(0) }, lit(1), lit(0))),
  sign: (_, [x]) => one(real.call('sign', x!)),
  powv: (_, [a, b]) => one(real.call('pow', a!, b!)),
};

/**
 * Lowers `outputs` (name, node) to lets over variables already in scope: `variable(name)` gives
 * the expression a graph variable reads (a local, a parameter: `real.ref(name)` by default).
 * `names` names intermediate nodes (var_x, A1, ...); the others are t0, t1, ... after `prefix`.
 */
export function lowerScalar(
  outputs: ReadonlyArray<readonly [string, Node]>,
  names: ReadonlyMap<Node, string> = new Map(),
  options: { variable?: (name: string) => Expr; prefix?: string; type?: ValueType } = {},
): LoweredCode {
  const variable = options.variable ?? ((name: string) => real.ref(name));
  const prefix = options.prefix ?? 't';
  const type = options.type ?? 'acc';
  const ref = new Map<number, Expr>();
  const stmts: Stmt[] = [];
  let temp = 0;
  let flops = 0;
  const outNames = namedOutputs(outputs);
  for (const n of topoSort(outputs.map(([, node]) => node))) {
    const lowered = LOWER[n.op](n, n.args.map((m) => ref.get(m.id)!), variable);
    // a leaf (variable, constant) is written where it is used
    if (n.args.length === 0) {
      ref.set(n.id, lowered.e);
      continue;
    }
    flops += lowered.flops;
    const name = outNames.get(n.id) ?? names.get(n) ?? `${prefix}${temp++}`;
    stmts.push({ k: 'let', name, type, init: lowered.e, mutable: false });
    ref.set(n.id, { k: 'ref', type, name });
  }
  // an output that is the same node as an earlier one, or a leaf, gets an alias
  const outputNames = outputs.map(([name, node]) => {
    const r = ref.get(node.id)!;
    if (!(r.k === 'ref' && r.name === name)) stmts.push({ k: 'let', name, type, init: r, mutable: false });
    return name;
  });
  return { stmts, outputNames, flops };
}
