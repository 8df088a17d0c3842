/**
 * The bridge to mathjs: parse a mathjs expression string into our graph, and export ours as a
 * mathjs node. mathjs is an independent referee (its `derivative` checks ours); we never run
 * its simplifier on large expressions.
 */
import { createRequire } from 'node:module';
import type { MathNode } from 'mathjs';
import { add, div, exp, log, min, mul, neg, num, pow, powv, relu, sqrt, variable } from './build.js';
import type { Node, Op } from './node.js';
import { rules, type MathjsFunction } from './ops.js';
import type { Rational } from './rational.js';
import { toInfix } from './print.js';

// mathjs is loaded on first use: the CLI starts without it unless a command parses formulas
const require = createRequire(import.meta.url);
let mathjsParse: ((expr: string) => MathNode) | undefined;
function parse(expr: string): MathNode {
  mathjsParse ??= (require('mathjs') as { parse: (expr: string) => MathNode }).parse;
  return mathjsParse(expr);
}

/** A construct our graph cannot represent, named in the message. */
export class ExprParseError extends Error {
  override name = 'ExprParseError';
}

const ops = Object.keys(rules) as Op[];

/**
 * The functions fromMathjs reads: each op's own (its row's mathjs spelling), then mathjs functions
 * that are compositions of ops (sqrt, relu, square, cube, min, log with a base, pow).
 */
const FUNCTIONS: readonly MathjsFunction[] = [
  ...ops.flatMap((op) => {
    const m = rules[op].mathjs;
    return 'function' in m ? [m.function] : [];
  }),
  { name: 'sqrt', arity: 1, variadic: false, parse: ([x]) => sqrt(x!) },
  { name: 'relu', arity: 1, variadic: false, parse: ([x]) => relu(x!) },
  { name: 'square', arity: 1, variadic: false, parse: ([x]) => pow(x!, 2) },
  { name: 'cube', arity: 1, variadic: false, parse: ([x]) => pow(x!, 3) },
  { name: 'min', arity: 2, variadic: true, parse: (a) => a.slice(1).reduce((m, x) => min(m, x), a[0]!) },
  { name: 'log', arity: 2, variadic: false, parse: ([x, base]) => div(log(x!), log(base!)) },
];

// mathjs node shapes we read; its own typings model nodes as classes with optional fields.
interface AnyMathNode {
  type: string;
  value?: unknown;
  name?: string;
  fn?: string | { name: string };
  op?: string;
  args?: AnyMathNode[];
  content?: AnyMathNode;
}

function constantExponent(e: Node, where: string): Rational | number {
  if (e.op !== 'const') throw new ExprParseError(`unsupported exponent in '${where}': only constant (rational) exponents are supported`);
  return e.rat ?? e.value;
}

/**
 * base ^ e: exact (rational) for a constant exponent of moderate size; powv for an expression,
 * and for a constant too large or small to be a rational of moderate size (x^1e308 is a number,
 * perhaps Infinity, not an error). `constantOnly`: pow(a, b) takes constant exponents only.
 */
function power(base: Node, e: Node, source: string, constantOnly = false): Node {
  if (e.op === 'const') return e.rat !== undefined ? pow(base, e.rat) : powv(base, e);
  return constantOnly ? pow(base, constantExponent(e, source)) : powv(base, e);
}

/** mathjs's parser, for a caller that looks at the tree (its size) before converting it. */
export function parseMathjs(expr: string): MathNode {
  try {
    return parse(expr);
  } catch (e) {
    throw new ExprParseError(`cannot parse '${expr}': ${(e as Error).message}`);
  }
}

function convert(m: AnyMathNode, source: string): Node {
  const go = (a: AnyMathNode): Node => convert(a, source);
  switch (m.type) {
    case 'ConstantNode':
      if (typeof m.value !== 'number') throw new ExprParseError(`unsupported constant ${JSON.stringify(m.value)} in '${source}'`);
      return num(m.value);
    case 'SymbolNode':
      if (m.name === 'pi') return num(Math.PI);
      if (m.name === 'e') return exp(num(1));
      return variable(m.name!);
    case 'ParenthesisNode':
      return go(m.content!);
    case 'OperatorNode': {
      const args = (m.args ?? []).map(go);
      switch (m.fn as string) {
        case 'add':
          return add(...args);
        case 'subtract':
          return add(args[0]!, neg(args[1]!));
        case 'multiply':
          return mul(...args);
        case 'divide':
          return div(args[0]!, args[1]!);
        case 'unaryMinus':
          return neg(args[0]!);
        case 'unaryPlus':
          return args[0]!;
        case 'pow':
          return power(args[0]!, args[1]!, source);
        default:
          throw new ExprParseError(`unsupported operator '${m.op}' in '${source}'`);
      }
    }
    case 'FunctionNode': {
      const name = typeof m.fn === 'string' ? m.fn : m.fn!.name;
      const args = (m.args ?? []).map(go);
      const fn = FUNCTIONS.find((f) => f.name === name && (f.variadic ? args.length >= f.arity : args.length === f.arity));
      if (fn !== undefined) return fn.parse(args);
      if (name === 'pow' && args.length === 2) return power(args[0]!, args[1]!, source, true);
      throw new ExprParseError(`unsupported function '${name}' with ${args.length} argument(s) in '${source}'`);
    }
    default:
      throw new ExprParseError(`unsupported construct ${m.type} in '${source}'`);
  }
}

/** Parses a mathjs expression (string or node) into an interned expression. */
export function fromMathjs(expr: string | MathNode): Node {
  const source = typeof expr === 'string' ? expr : expr.toString();
  let tree: MathNode;
  try {
    tree = typeof expr === 'string' ? parse(expr) : expr;
  } catch (e) {
    throw new ExprParseError(`cannot parse '${source}': ${(e as Error).message}`);
  }
  return convert(tree as unknown as AnyMathNode, source);
}

/** Our expression as a mathjs node (the printed infix, parsed by mathjs). */
export function toMathjs(n: Node): MathNode {
  return parse(toInfix(n));
}

/** Functions our printer uses that mathjs lacks (ops whose row says so, and relu); pass as (part of) the scope when evaluating. */
export const mathjsScope: Readonly<Record<string, (x: number) => number>> = {
  ...Object.fromEntries(
    ops.flatMap((op) => {
      const m = rules[op].mathjs;
      if (!('function' in m) || m.builtin) return [];
      let node: Node | undefined; // built on first use: the op on a variable, for the row's evaluate
      return [[m.function.name, (x: number) => rules[op].evaluate((node ??= m.function.parse([variable('x')])), [x])] as const];
    }),
  ),
  relu: (x) => Math.max(x, 0),
};
