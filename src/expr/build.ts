/**
 * Smart constructors: the only way to make nodes. Each folds constants and identities once,
 * locally (x+0, x*1, x^1, c1*c2, x*x -> x^2, 2x+3x -> 5x), and puts commutative arguments in
 * canonical order; there is no rewrite-until-fixpoint loop.
 */
import { intern, type Node } from './node.js';
import {
  addQ,
  fitsQ,
  isIntegerQ,
  isOneQ,
  isZeroQ,
  mulQ,
  powQ,
  rational,
  rationalFromNumber,
  toNumberQ,
  type Rational,
} from './rational.js';

/** A constant from a double; rational when its shortest decimal is (0.01 -> 1/100). */
export function num(x: number): Node {
  const r = rationalFromNumber(x);
  return r !== undefined ? ratNode(r) : intern('const', [], { value: x });
}

/** An exact rational constant p/q. */
export function rat(p: number | bigint, q: number | bigint = 1): Node {
  return ratNode(rational(BigInt(p), BigInt(q)));
}

function ratNode(r: Rational): Node {
  return intern('const', [], { value: toNumberQ(r), rat: r });
}

export const ZERO = rat(0);
export const ONE = rat(1);
export const MINUS_ONE = rat(-1);
export const HALF = rat(1, 2);

/** A named input. */
export function variable(name: string): Node {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`variable: invalid name '${name}'`);
  return intern('var', [], { name });
}

/** Constructors take numbers where a node is expected: add(x, 1). */
export type Operand = Node | number;
const lift = (a: Operand): Node => (typeof a === 'number' ? num(a) : a);

export const isConst = (n: Node): boolean => n.op === 'const';
export const isZero = (n: Node): boolean => n.op === 'const' && n.value === 0;
export const isOne = (n: Node): boolean => n.op === 'const' && n.value === 1;

/** c1 + c2, exact when both are rational and the result stays exact. */
function addConst(a: Node, b: Node): Node {
  if (a.rat !== undefined && b.rat !== undefined) {
    const r = addQ(a.rat, b.rat);
    if (fitsQ(r)) return ratNode(r);
  }
  return num(a.value + b.value);
}

/** c1 * c2, exact when both are rational and the result stays exact. */
function mulConst(a: Node, b: Node): Node {
  if (a.rat !== undefined && b.rat !== undefined) {
    const r = mulQ(a.rat, b.rat);
    if (fitsQ(r)) return ratNode(r);
  }
  return num(a.value * b.value);
}

/** Splits a term into (rest, coefficient): 3*x*y -> (x*y, 3). */
function splitCoefficient(t: Node): [Node, Node] {
  if (t.op === 'mul' && t.args[0]!.op === 'const') {
    const rest = t.args.slice(1);
    return [rest.length === 1 ? rest[0]! : intern('mul', rest), t.args[0]!];
  }
  return [t, ONE];
}

const byId = (a: Node, b: Node): number => a.id - b.id;

/**
 * The operands of an n-ary `op` (sum or product), flattened: constants folded into one with `fold`,
 * the others gathered by base (`split` gives a term's base and weight; one base's weights are
 * summed with `combine`). Map order is first appearance; the callers sort.
 */
function gather<W>(
  op: 'add' | 'mul',
  operands: readonly Operand[],
  unit: Node,
  fold: (a: Node, b: Node) => Node,
  split: (t: Node) => readonly [Node, W],
  combine: (a: W, b: W) => W,
): { constant: Node; bases: Map<number, [Node, W]> } {
  let constant = unit;
  const bases = new Map<number, [Node, W]>(); // base id -> [base, weight]
  const visit = (t: Node): void => {
    if (t.op === op) t.args.forEach(visit);
    else if (t.op === 'const') constant = fold(constant, t);
    else {
      const [base, w] = split(t);
      const seen = bases.get(base.id);
      bases.set(base.id, [base, seen === undefined ? w : combine(seen[1], w)]);
    }
  };
  operands.map(lift).forEach(visit);
  return { constant, bases };
}

/** n-ary sum: flattens, folds constants, collects like terms (2x + 3x -> 5x). */
export function add(...terms: Operand[]): Node {
  const { constant, bases } = gather('add', terms, ZERO, addConst, splitCoefficient, addConst);
  const out: Node[] = [];
  for (const [base, c] of bases.values()) {
    if (isZero(c)) continue;
    out.push(isOne(c) ? base : mul(c, base));
  }
  out.sort(byId);
  if (!isZero(constant)) out.unshift(constant);
  if (out.length === 0) return ZERO;
  if (out.length === 1) return out[0]!;
  return intern('add', out);
}

/** Splits a factor into (base, exponent): x^3 -> (x, 3). */
function splitExponent(f: Node): [Node, Rational] {
  return f.op === 'pow' ? [f.args[0]!, f.rat!] : [f, rational(1n)];
}

/** n-ary product: flattens, folds constants, collects powers of one base (x * x -> x^2). */
export function mul(...factors: Operand[]): Node {
  const gathered = gather('mul', factors, ONE, mulConst, splitExponent, addQ);
  let constant = gathered.constant;
  if (isZero(constant)) return ZERO;
  const out: Node[] = [];
  for (const [base, e] of gathered.bases.values()) {
    const p = pow(base, e);
    if (p.op === 'const') constant = mulConst(constant, p);
    else if (p.op === 'mul') out.push(...p.args); // cannot happen for non-constant bases; kept for safety
    else out.push(p);
  }
  if (isZero(constant)) return ZERO;
  out.sort(byId);
  if (!isOne(constant)) out.unshift(constant);
  if (out.length === 0) return ONE;
  if (out.length === 1) return out[0]!;
  return intern('mul', out);
}

/** base ^ e for a rational exponent (numbers are read as the rationals they print as). */
export function pow(base: Operand, e: Rational | number): Node {
  base = lift(base);
  let r: Rational;
  if (typeof e === 'number') {
    const q = rationalFromNumber(e);
    if (q === undefined) throw new RangeError(`pow: exponent ${e} is not a rational of moderate size`);
    r = q;
  } else r = e;
  if (isZeroQ(r)) return ONE;
  if (isOneQ(r)) return base;
  if (base.op === 'const') {
    if (base.rat !== undefined && isIntegerQ(r)) {
      const q = powQ(base.rat, r.num);
      if (q !== undefined && fitsQ(q)) return ratNode(q);
    }
    return num(evalPow(base.value, r));
  }
  // (x^a)^n = x^(a n) holds for integer n wherever x^a is defined.
  if (base.op === 'pow' && isIntegerQ(r)) return pow(base.args[0]!, mulQ(base.rat!, r));
  // (a b)^n = a^n b^n for integer n: quotients stay flat products, so 1/(B1 B2) differentiates cleanly.
  if (base.op === 'mul' && isIntegerQ(r)) return mul(...base.args.map((a) => pow(a, r)));
  return intern('pow', [base], { rat: r });
}

/** x^r in double, with the exact library routines for the common exponents. */
export function evalPow(x: number, r: Rational): number {
  if (r.den === 1n) {
    if (r.num === 2n) return x * x;
    if (r.num === -1n) return 1 / x;
    return Math.pow(x, Number(r.num));
  }
  if (r.den === 2n) {
    if (r.num === 1n) return Math.sqrt(x);
    if (r.num === -1n) return 1 / Math.sqrt(x);
    return Math.pow(Math.sqrt(x), Number(r.num));
  }
  return Math.pow(x, toNumberQ(r));
}

/** -x. */
export const neg = (x: Operand): Node => mul(MINUS_ONE, x);
/** a - b. */
export const sub = (a: Operand, b: Operand): Node => add(a, neg(b));
/** a / b. */
export const div = (a: Operand, b: Operand): Node => mul(a, pow(b, -1));
/** The square root, x^(1/2). */
export const sqrt = (x: Node): Node => pow(x, rational(1n, 2n));
/** x^2. */
export const square = (x: Node): Node => pow(x, 2);

/** e^x. */
export function exp(x: Node): Node {
  if (x.op === 'const') return isZero(x) ? ONE : num(Math.exp(x.value));
  return intern('exp', [x]);
}

/** The natural logarithm. */
export function log(x: Node): Node {
  if (x.op === 'const') return isOne(x) ? ZERO : num(Math.log(x.value));
  if (x.op === 'exp') return x.args[0]!;
  return intern('log', [x]);
}

/** |x|; its derivative is sign(x), 0 at 0. */
export function abs(x: Node): Node {
  if (x.op === 'const') return x.rat !== undefined ? ratNode(rational(x.rat.num < 0n ? -x.rat.num : x.rat.num, x.rat.den)) : num(Math.abs(x.value));
  if (x.op === 'abs') return x;
  return intern('abs', [x]);
}

/** max(a, b); commutative, so its arguments are put in canonical order. */
export function max(a0: Operand, b0: Operand): Node {
  const a = lift(a0);
  const b = lift(b0);
  if (a === b) return a;
  if (a.op === 'const' && b.op === 'const') return a.value >= b.value ? a : b;
  return a.id < b.id ? intern('max', [a, b]) : intern('max', [b, a]);
}

/** min(a, b), as -max(-a, -b). */
export const min = (a: Operand, b: Operand): Node => neg(max(neg(a), neg(b)));
/** max(x, 0); its derivative is 0 at x <= 0, as torch takes it. */
export const relu = (x: Node): Node => max(x, ZERO);

/**
 * base ^ exponent for an exponent that is an expression (a parameter such as Wang's alpha). A
 * constant exponent becomes `pow`; otherwise Math.pow semantics (a negative base needs an integer
 * exponent, else NaN).
 */
export function powv(base0: Operand, exponent0: Operand): Node {
  const base = lift(base0);
  const e = lift(exponent0);
  if (e.op === 'const') {
    const q = e.rat ?? rationalFromNumber(e.value);
    if (q !== undefined) return pow(base, q);
  }
  if (base.op === 'const' && e.op === 'const') return num(Math.pow(base.value, e.value));
  return intern('powv', [base, e]);
}

/** The Heaviside step: 1 where x > 0, else 0. */
export function step(x: Node): Node {
  if (x.op === 'const') return x.value > 0 ? ONE : ZERO;
  return intern('step', [x]);
}

/** The sign of x: -1, 0 or 1. */
export function sign(x: Node): Node {
  if (x.op === 'const') return rat(Math.sign(x.value));
  if (x.op === 'abs') return step(x); // sign(|x|) = 1 for x != 0, 0 at 0
  return intern('sign', [x]);
}
