/**
 * Reads LaTeX back into a number: KaTeX parses it (the parser that renders our documents, so what is
 * evaluated is what a reader sees), and a small recursive descent over KaTeX's parse tree evaluates it.
 * It knows only the notation our printer (src/expr/latex.ts) uses, and throws on anything else, so a
 * printer change that emits new notation fails loudly instead of being misread.
 *
 * Grammar over one list of KaTeX nodes:
 *   expr   := [+|-] term ((+|-) term)*
 *   term   := factor ((\cdot | \times | / | \, | juxtaposition) factor)*
 *   factor := primary [^{expr}]
 *   primary:= number | name | \frac{expr}{expr} | \sqrt{expr} | \left( expr \right) | \left\lvert expr \right\rvert
 *           | e^{expr} | \log(expr) | \max(expr, expr) | H(expr) | \operatorname{sgn}(expr)
 */
import katex from 'katex';

/** The parts of KaTeX's parse tree we read (its internal `__parse` result). */
interface KNode {
  type: string;
  text?: string;
  name?: string;
  family?: string;
  body?: KNode[] | KNode;
  numer?: KNode;
  denom?: KNode;
  hasBarLine?: boolean;
  base?: KNode;
  sup?: KNode;
  sub?: KNode;
  left?: string;
  right?: string;
  index?: KNode | null;
}

// __parse is KaTeX's documented-for-tooling but untyped entry to its parser.
const parseTree = (katex as unknown as { __parse: (tex: string, opts: object) => KNode[] }).__parse;

/** Variables and named intermediates, keyed by their LaTeX as the parse tree spells them (`x`, `x_1`, `\mu_x`, `\sigma_x^2`, `m_xx`). */
export type TexEnv = Readonly<Record<string, number>>;

const children = (n: KNode): KNode[] => (n.body === undefined ? [n] : Array.isArray(n.body) ? n.body : n.type === 'ordgroup' ? [n.body] : children(n.body));
const group = (n: KNode): KNode[] => (n.type === 'ordgroup' ? children(n) : [n]);

/** Flattens a subscript or superscript holding only letters and digits into its text (`{xx}` -> `xx`). */
function plain(n: KNode): string | undefined {
  const parts = group(n);
  if (!parts.every((p) => (p.type === 'mathord' || p.type === 'textord') && p.text !== undefined)) return undefined;
  return parts.map((p) => p.text).join('');
}

/** Evaluates LaTeX `tex` at `env`; throws on notation it does not know or names missing from env. */
export function evaluateTex(tex: string, env: TexEnv): number {
  return evalList(parseTree(tex, { throwOnError: true, strict: 'error' }), env);
}

function evalList(nodes: KNode[], env: TexEnv): number {
  let i = 0;
  const peek = (): KNode | undefined => nodes[i];
  const isBin = (n: KNode | undefined, ...ops: string[]): boolean => n !== undefined && n.type === 'atom' && n.text !== undefined && ops.includes(n.text);
  const fail = (what: string): never => {
    throw new Error(`katex-eval: ${what} at node ${i} (${JSON.stringify(nodes[i]?.type)} ${JSON.stringify(nodes[i]?.text ?? nodes[i]?.name ?? '')})`);
  };
  /** Applies a function name (\log, \max, H, sgn) to the parenthesised list after it; `\left(..\right)^{k}` powers the result. */
  const call = (fn: (args: number[]) => number): number => {
    const n = nodes[i++];
    const paren = n?.type === 'supsub' && n.sub === undefined ? n.base : n;
    if (paren?.type !== 'leftright' || paren.left !== '(') return fail('expected \\left( after a function name');
    const parts: KNode[][] = [[]];
    for (const c of children(paren)) {
      if (c.type === 'atom' && c.family === 'punct' && c.text === ',') parts.push([]);
      else parts[parts.length - 1]!.push(c);
    }
    const v = fn(parts.map((p) => evalList(p, env)));
    return paren === n ? v : v ** evalList(group(n!.sup!), env);
  };
  const number = (): number => {
    let s = '';
    while (peek()?.type === 'textord' && /^[\d.]$/.test(peek()!.text!)) s += nodes[i++]!.text;
    // KaTeX puts 10^{-7}'s exponent on the last digit alone; a reader (and our printer) means the whole number
    const n = peek();
    if (n?.type === 'supsub' && n.sub === undefined && n.base?.type === 'textord' && /^\d$/.test(n.base.text!)) {
      i++;
      return Number(s + n.base.text) ** evalList(group(n.sup!), env);
    }
    return Number(s);
  };
  const primary = (): number => {
    const n = peek();
    if (n === undefined) return fail('expected a factor');
    if (n.type === 'textord' && /^[\d.]$/.test(n.text!)) return number();
    i++;
    switch (n.type) {
      case 'ordgroup':
        return evalList(children(n), env);
      case 'genfrac':
        if (n.hasBarLine !== true) return fail('a \\frac without a bar');
        return evalList(group(n.numer!), env) / evalList(group(n.denom!), env);
      case 'sqrt':
        if (n.index) return fail('an n-th root');
        return Math.sqrt(evalList(children(n), env));
      case 'leftright':
        if (n.left === '(' && n.right === ')') return evalList(children(n), env);
        if (n.left === '\\lvert' && n.right === '\\rvert') return Math.abs(evalList(children(n), env));
        return fail(`delimiters ${n.left} ${n.right}`);
      case 'op':
        if (n.name === '\\log') return call((a) => (a.length === 1 ? Math.log(a[0]!) : fail('\\log of other than one argument')));
        if (n.name === '\\max') return call((a) => (a.length === 2 ? Math.max(a[0]!, a[1]!) : fail('\\max of other than two arguments')));
        return fail(`operator ${n.name}`);
      case 'operatorname':
        if (plain({ type: 'ordgroup', body: children(n) }) === 'sgn') return call((a) => Math.sign(a[0]!));
        return fail('an \\operatorname other than sgn');
      case 'mathord':
        if (n.text === 'H' && !('H' in env)) return call((a) => (a[0]! > 0 ? 1 : 0)); // step: H(0) = 0, as src/expr's step
        return lookup(n.text!);
      case 'supsub':
        return supsub(n);
      default:
        return fail('an unknown node');
    }
  };
  const lookup = (key: string): number => {
    const v = env[key];
    if (v === undefined) return fail(`'${key}' is not in the environment`);
    return v;
  };
  const supsub = (n: KNode): number => {
    const base = n.base!;
    const baseText = base.type === 'mathord' || base.type === 'textord' ? base.text : undefined;
    const sub = n.sub === undefined ? undefined : plain(n.sub);
    if (n.sub !== undefined && sub === undefined) return fail('a subscript that is not a name');
    const name = baseText === undefined ? undefined : sub === undefined ? baseText : `${baseText}_${sub}`;
    if (n.sup === undefined) return lookup(name ?? fail('a subscript on a non-name'));
    const sup = plain(n.sup);
    if (name !== undefined && sup !== undefined && `${name}^${sup}` in env) return env[`${name}^${sup}`]!; // a named intermediate such as \sigma_x^2
    const exponent = evalList(group(n.sup), env);
    if (name === 'e' && !('e' in env)) return Math.exp(exponent);
    const b = name !== undefined && !/^\d+$/.test(name) ? lookup(name) : base.type === 'textord' ? Number(baseText) : evalList([base], env);
    return b ** exponent;
  };
  const factor = (): number => primary();
  const term = (): number => {
    let v = factor();
    for (;;) {
      const n = peek();
      if (n === undefined || isBin(n, '+', '-')) return v;
      if (n.type === 'kern' || n.type === 'spacing') {
        i++;
        continue;
      }
      if (isBin(n, '\\cdot', '\\times')) {
        i++;
        v *= factor();
      } else if (n.type === 'textord' && n.text === '/') {
        i++;
        v /= factor();
      } else if (n.type === 'atom' && n.family === 'punct') return fail('a comma outside a function');
      else v *= factor(); // juxtaposition
    }
  };
  const expr = (): number => {
    let sign = 1;
    if (isBin(peek(), '+', '-')) sign = nodes[i++]!.text === '-' ? -1 : 1;
    let v = sign * term();
    while (i < nodes.length) {
      const n = nodes[i++]!;
      if (!isBin(n, '+', '-')) return fail('expected + or -');
      v += (n.text === '-' ? -1 : 1) * term();
    }
    return v;
  };
  if (nodes.length === 0) return fail('an empty expression');
  return expr();
}
