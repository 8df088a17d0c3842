/**
 * What the printers share, for the op table's spellings (ops.ts): precedence levels, what each
 * printer hands a spelling, and the layouts of sums, products and powers (the ops whose spelling
 * is more than a name and its arguments). The printers themselves (print.ts, latex.ts,
 * pointwise.ts) only walk the graph and read the table.
 */
import { MINUS_ONE, mul } from './build.js';
import type { Node } from './node.js';
import type { Rational } from './rational.js';

/** Precedence levels: a printed operand below the level its place needs is parenthesised. */
export const SUM = 1;
export const PRODUCT = 2;
export const POWER = 3;
export const ATOM = 4;

/** A printed subexpression (infix or LaTeX) and its precedence. */
export interface Printed {
  readonly text: string;
  readonly prec: number;
  /** Starts with a digit (in LaTeX a following number needs \cdot, not juxtaposition). */
  readonly numeric?: boolean;
}

/** What the infix and LaTeX printers hand a spelling. */
export interface Notation {
  /** A node as printed (memoised; in LaTeX a named node prints as its name). */
  go(n: Node): Printed;
  /** `p`, parenthesised in this notation when its precedence is below `min`. */
  wrap(p: Printed, min: number): string;
}

/** The infix printer's notation (mathjs syntax). */
export type InfixPrinter = Notation;

/** The LaTeX printer's notation and its names. */
export interface LatexPrinter extends Notation {
  /** Whether `n` prints as a name of its own (so a product keeps it whole, not in a denominator). */
  named(n: Node): boolean;
  /** The LaTeX symbol of a variable, when it has one. */
  variable(name: string): string | undefined;
}

/** The straight-line code a spelling is printed into: TypeScript (float64 or emulated float32) or C++. */
export type Language = 'ts' | 'cpp';

/** What the code printer hands a spelling: the language's conventions. */
export interface CodeTarget {
  readonly lang: Language;
  /** Emulated float32: constants rounded to float32 and Math.fround after every operation (TypeScript only). */
  readonly fround: boolean;
  /** An operation's result, rounded as the arithmetic rounds it (Math.fround in emulated float32). */
  round(e: string): string;
  /** A library function: Math.exp, std::exp. */
  fn(name: string): string;
  /** A literal in the arithmetic's type: 0.5, T(0.5). */
  lit(s: string): string;
  /** A condition as the number 1 or 0. */
  bool(cond: string): string;
}

/** One node's code: its expression and how many floating-point operations it costs. */
export interface Code {
  readonly expr: string;
  readonly flops: number;
}

/** A term of a sum that prints better subtracted: a negative constant or coefficient. */
function isNegative(n: Node): boolean {
  if (n.op === 'const') return n.value < 0;
  return n.op === 'mul' && n.args[0]!.op === 'const' && n.args[0]!.value < 0;
}

/** A sum, constant last (x + 1), negative terms subtracted (x - 2 y). */
export function sum(n: Node, p: Notation): Printed {
  const terms = [...n.args.filter((a) => a.op !== 'const'), ...n.args.filter((a) => a.op === 'const')];
  let text = p.wrap(p.go(terms[0]!), SUM);
  for (const t of terms.slice(1)) text += isNegative(t) ? ` - ${p.wrap(p.go(mul(MINUS_ONE, t)), PRODUCT)}` : ` + ${p.wrap(p.go(t), SUM)}`;
  return { text, prec: SUM };
}

/** A product read as a fraction: sign, coefficient, the factors above and those below the line. */
export interface Fraction {
  readonly minus: boolean;
  /** The coefficient's numerator (exact or float) when it is not 1. */
  readonly coefficient: bigint | number | undefined;
  /** The coefficient's denominator when it is not 1. */
  readonly denominator: bigint | undefined;
  readonly above: readonly Node[];
  /** Factors with a negative exponent, as base and the exponent negated. */
  readonly below: ReadonlyArray<readonly [Node, Rational]>;
}

/** Splits a product into a fraction; `keep(f)` keeps a factor above the line even with a negative exponent. */
export function fraction(n: Node, keep: (f: Node) => boolean = () => false): Fraction {
  let args = n.args;
  let minus = false;
  let coefficient: bigint | number | undefined;
  let denominator: bigint | undefined;
  if (args[0]!.op === 'const') {
    const c = args[0]!;
    args = args.slice(1);
    minus = c.value < 0;
    if (c.rat !== undefined) {
      const p = c.rat.num < 0n ? -c.rat.num : c.rat.num;
      if (p !== 1n) coefficient = p;
      if (c.rat.den !== 1n) denominator = c.rat.den;
    } else if (Math.abs(c.value) !== 1) coefficient = Math.abs(c.value);
  }
  const above: Node[] = [];
  const below: Array<readonly [Node, Rational]> = [];
  for (const f of args) {
    if (f.op === 'pow' && f.rat!.num < 0n && !keep(f)) below.push([f.args[0]!, { num: -f.rat!.num, den: f.rat!.den }]);
    else above.push(f);
  }
  return { minus, coefficient, denominator, above, below };
}

// --- infix (mathjs syntax) ---

export function infixRational(r: Rational): Printed {
  if (r.den === 1n) return { text: `${r.num}`, prec: r.num < 0n ? PRODUCT : ATOM };
  return { text: `${r.num}/${r.den}`, prec: PRODUCT };
}

export function infixConstant(n: Node): Printed {
  if (n.rat !== undefined) return infixRational(n.rat);
  return { text: String(n.value), prec: n.value < 0 ? PRODUCT : ATOM };
}

/** base ^ r: sqrt for 1/2, a quotient for a negative exponent. */
export function infixPower(base: Node, r: Rational, p: InfixPrinter): Printed {
  if (r.num === 1n && r.den === 1n) return p.go(base);
  if (r.num === 1n && r.den === 2n) return { text: `sqrt(${p.go(base).text})`, prec: ATOM };
  if (r.num < 0n) return { text: `1 / ${p.wrap(infixPower(base, { num: -r.num, den: r.den }, p), POWER)}`, prec: PRODUCT };
  const e = r.den === 1n ? `${r.num}` : `(${r.num}/${r.den})`;
  return { text: `${p.wrap(p.go(base), ATOM)}^${e}`, prec: POWER };
}

/** A product as `a * b / (c * d)`. */
export function infixProduct(n: Node, p: InfixPrinter): Printed {
  const q = fraction(n);
  const numer: string[] = q.coefficient === undefined ? [] : [String(q.coefficient)];
  for (const f of q.above) numer.push(p.wrap(p.go(f), PRODUCT + 1));
  const denom: Printed[] = q.denominator === undefined ? [] : [{ text: `${q.denominator}`, prec: ATOM }];
  for (const [base, r] of q.below) denom.push(infixPower(base, r, p));
  const sign = q.minus ? '-' : '';
  const top = numer.length === 0 ? '1' : numer.join(' * ');
  if (denom.length === 0) return { text: sign + top, prec: PRODUCT };
  const bottom = denom.length === 1 ? p.wrap(denom[0]!, POWER) : `(${denom.map((d) => p.wrap(d, PRODUCT + 1)).join(' * ')})`;
  return { text: `${sign}${top} / ${bottom}`, prec: PRODUCT };
}

/** A function of its arguments: `name(a, b)`. */
export const infixCall =
  (name: string) =>
  (n: Node, p: InfixPrinter): Printed => ({ text: `${name}(${n.args.map((a) => p.go(a).text).join(', ')})`, prec: ATOM });

// --- LaTeX ---

/** A float; 1e-7 prints as 1 \times 10^{-7}. */
export function latexNumber(v: number): Printed {
  const s = String(v);
  const m = /^(-?[\d.]+)e([+-]\d+)$/.exec(s);
  const text = m ? `${m[1]} \\times 10^{${Number(m[2])}}` : s;
  return { text, prec: v < 0 || m ? PRODUCT : ATOM, numeric: true };
}

export function latexRational(r: Rational): Printed {
  if (r.den === 1n) return { text: `${r.num}`, prec: r.num < 0n ? PRODUCT : ATOM, numeric: true };
  const neg = r.num < 0n;
  return { text: `${neg ? '-' : ''}\\frac{${neg ? -r.num : r.num}}{${r.den}}`, prec: PRODUCT, numeric: true };
}

/** base ^ r for r > 0: \sqrt for 1/2; a base that already carries an exponent (\sigma_x^2) is parenthesised. */
export function latexPower(base: Node, r: Rational, p: LatexPrinter): Printed {
  if (r.num === 1n && r.den === 2n) return { text: `\\sqrt{${p.go(base).text}}`, prec: ATOM };
  if (r.num === 1n && r.den === 1n) return p.go(base);
  const b = p.go(base);
  const needsParens = b.prec < ATOM || /\^\{?\d/.test(b.text);
  const e = r.den === 1n ? `${r.num}` : `${r.num}/${r.den}`;
  return { text: `${needsParens ? `\\left(${b.text}\\right)` : b.text}^{${e}}`, prec: POWER };
}

/** A product as juxtaposition (\, between factors, \cdot before a number) over a \frac. */
export function latexProduct(n: Node, p: LatexPrinter): Printed {
  const q = fraction(n, (f) => p.named(f));
  const top: Printed[] = [];
  if (typeof q.coefficient === 'bigint') top.push({ text: `${q.coefficient}`, prec: ATOM, numeric: true });
  else if (q.coefficient !== undefined) top.push(latexNumber(q.coefficient));
  top.push(...q.above.map((f) => p.go(f)));
  const bottom: Printed[] = q.denominator === undefined ? [] : [{ text: `${q.denominator}`, prec: ATOM, numeric: true }];
  bottom.push(...q.below.map(([base, r]) => latexPower(base, r, p)));
  const join = (ps: Printed[]): string =>
    ps.length === 0 ? '1' : ps.map((f, i) => (i > 0 && (f.numeric ?? false) ? ` \\cdot ${p.wrap(f, PRODUCT + 1)}` : `${i > 0 ? ' \\, ' : ''}${p.wrap(f, PRODUCT + 1)}`)).join('');
  const sign = q.minus ? '-' : '';
  if (bottom.length === 0) return { text: sign + join(top), prec: PRODUCT };
  return { text: `${sign}\\frac{${join(top)}}{${join(bottom)}}`, prec: PRODUCT };
}

/** A named function of its arguments: `\log\left(a\right)`. */
export const latexCall =
  (name: string) =>
  (n: Node, p: LatexPrinter): Printed => ({ text: `${name}\\left(${n.args.map((a) => p.go(a).text).join(', ')}\\right)`, prec: ATOM });

// --- straight-line code ---

/** A constant as a literal (negative ones parenthesised: a - (-2)). */
export function codeConstant(n: Node, t: CodeTarget): string {
  if (t.fround) return `${Math.fround(n.value)}`;
  const v = n.value;
  if (Object.is(v, -0)) return t.lit('-0');
  const s = String(v);
  return t.lit(v < 0 ? `(${s})` : s);
}

/** An n-ary sum as a left-to-right chain, rounded after each addition. */
export function codeSum(a: readonly string[], t: CodeTarget): Code {
  let e = a[0]!;
  for (const s of a.slice(1)) e = t.round(`${e} + ${s}`);
  return { expr: e, flops: a.length - 1 };
}

/** A product as a chain; a leading -1 is a negation (exact, no rounding), other constants lead. */
export function codeProduct(n: Node, a: readonly string[], t: CodeTarget): Code {
  const negate = n.args[0]!.op === 'const' && n.args[0]!.value === -1 && a.length > 1;
  const factors = negate ? a.slice(1) : a;
  let e = factors[0]!.startsWith('(-') ? factors[0]!.slice(1, -1) : factors[0]!;
  for (const s of factors.slice(1)) e = t.round(`${e} * ${s}`);
  if (negate) e = factors.length > 1 ? `-(${e})` : `-${e}`;
  return { expr: e, flops: factors.length - 1 };
}

/** x ^ r: products, reciprocals and square roots for the common exponents, the library's pow otherwise. */
export function codePower(r: Rational, x: string, t: CodeTarget): Code {
  const f = t.round;
  const sqrt = t.fn('sqrt');
  switch (`${r.num}/${r.den}`) {
    case '2/1':
      return { expr: f(`${x} * ${x}`), flops: 1 };
    case '-1/1':
      return { expr: f(`1 / ${x}`), flops: 1 };
    case '-2/1':
      return { expr: f(`1 / (${f(`${x} * ${x}`)})`), flops: 2 };
    case '1/2':
      return { expr: f(`${sqrt}(${x})`), flops: 1 };
    case '-1/2':
      return { expr: f(`1 / ${f(`${sqrt}(${x})`)}`), flops: 2 };
    case '3/1':
      return { expr: f(`${f(`${x} * ${x}`)} * ${x}`), flops: 2 };
    default:
      // every other exponent (this switch is over exponents, not ops)
      return { expr: f(`${t.fn('pow')}(${x}, ${t.lit(String(Number(r.num) / Number(r.den)))})`), flops: 1 };
  }
}

/** A library function of the arguments, rounded, one flop. */
export const codeCall =
  (name: string) =>
  (_: Node, a: readonly string[], t: CodeTarget): Code => ({ expr: t.round(`${t.fn(name)}(${a.join(', ')})`), flops: 1 });
