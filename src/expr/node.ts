/**
 * The nodes of the scalar expression graph. Nodes are interned (hash-consed): `intern`
 * returns the existing node when one with the same operation, arguments and payload exists,
 * so structural equality is identity and common subexpressions are shared by construction.
 * Build nodes with the smart constructors in `build.ts`, never with `intern` directly.
 */
import { keyQ, type Rational } from './rational.js';

/** The closed set of primitives. Subtraction, negation, division and sqrt are built from these. */
export type Op =
  | 'const' // a number; exact rational when it is one
  | 'var' // a named input
  | 'add' // n-ary sum, arguments in canonical order
  | 'mul' // n-ary product, arguments in canonical order
  | 'pow' // base ^ rational exponent (exponent 1/2 prints as sqrt)
  | 'exp'
  | 'log' // natural logarithm
  | 'abs'
  | 'max' // binary maximum (relu(x) = max(x, 0))
  | 'step' // Heaviside step: 1 for x > 0, else 0 (derivative of relu and max)
  | 'sign' // -1, 0, 1 (derivative of abs)
  | 'powv'; // base ^ exponent, the exponent an expression (Wang's l^alpha with alpha a parameter)

/** A node of the scalar expression graph: interned, so equal expressions are the same object. */
export interface Node {
  /** Creation index; unique, and the canonical order of commutative arguments. */
  readonly id: number;
  readonly op: Op;
  readonly args: readonly Node[];
  /** const: the double value. */
  readonly value: number;
  /** const: the exact value when rational; pow: the exponent. */
  readonly rat: Rational | undefined;
  /** var: the variable's name. */
  readonly name: string | undefined;
}

interface Payload {
  value?: number;
  rat?: Rational;
  name?: string;
}

const table = new Map<string, Node>();
let nextId = 0;

function keyOf(op: Op, args: readonly Node[], p: Payload): string {
  const ids = args.map((a) => a.id).join(',');
  switch (op) {
    case 'const':
      // Rational constants by exact value; floats by their bits (Object.is tells 0 from -0).
      return p.rat !== undefined ? `q${keyQ(p.rat)}` : `f${Object.is(p.value, -0) ? '-0' : String(p.value)}`;
    case 'var':
      return `v:${p.name}`;
    case 'pow':
      return `pow(${ids})^${keyQ(p.rat!)}`;
    // ops without a payload: the op and its arguments (listed, so a new op must say which it is)
    case 'add':
    case 'mul':
    case 'exp':
    case 'log':
    case 'abs':
    case 'max':
    case 'step':
    case 'sign':
    case 'powv':
      return `${op}(${ids})`;
  }
}

/** Returns the unique node for (op, args, payload). */
export function intern(op: Op, args: readonly Node[], p: Payload = {}): Node {
  const key = keyOf(op, args, p);
  const found = table.get(key);
  if (found !== undefined) return found;
  const node: Node = Object.freeze({
    id: nextId++,
    op,
    args: Object.freeze([...args]),
    value: p.value ?? NaN,
    rat: p.rat,
    name: p.name,
  });
  table.set(key, node);
  return node;
}

/** Number of distinct nodes ever interned (for tests and diagnostics). */
export function internedCount(): number {
  return table.size;
}

/**
 * The name each output node is written under by code that prints named outputs (the first name a
 * node has; leaves, variables and constants, are written where they are used and get none).
 */
export function namedOutputs(outputs: ReadonlyArray<readonly [string, Node]>): Map<number, string> {
  const names = new Map<number, string>();
  for (const [name, node] of outputs) if (!names.has(node.id) && node.args.length > 0) names.set(node.id, name);
  return names;
}

/** All nodes reachable from `outputs`, each after its arguments (iterative, no recursion limit). */
export function topoSort(outputs: readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<number>();
  const stack: Array<[Node, number]> = [];
  for (const out of outputs) {
    if (seen.has(out.id)) continue;
    seen.add(out.id);
    stack.push([out, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      if (i < node.args.length) {
        top[1] = i + 1;
        const child = node.args[i]!;
        if (!seen.has(child.id)) {
          seen.add(child.id);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order;
}

/** Number of distinct nodes in the DAG under `outputs`. */
export function dagSize(outputs: readonly Node[]): number {
  return topoSort(outputs).length;
}

/** The variables the outputs depend on, by name. */
export function variablesOf(outputs: readonly Node[]): string[] {
  return topoSort(outputs)
    .filter((n) => n.op === 'var')
    .map((n) => n.name!)
    .sort();
}
