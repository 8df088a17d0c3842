/**
 * The LaTeX printer over the expression graph: precedence-aware, quotients as \frac, named
 * intermediates printed by their names (A_1, \sigma_x^2, ...), variables by their LaTeX symbols.
 * It is the second printer over the same graph the kernels come from (SymPy's split).
 */
import { MINUS_ONE, mul, type Node } from '../expr/index.js';
import type { Rational } from '../expr/rational.js';

export interface LatexNames {
  /** LaTeX of named intermediate nodes (by node id), printed instead of their expansion. */
  readonly nodes?: ReadonlyMap<number, string>;
  /** LaTeX of variables (by variable name); unnamed variables print as their name. */
  readonly vars?: Readonly<Record<string, string>>;
}

const SUM = 1;
const PRODUCT = 2;
const POWER = 3;
const ATOM = 4;

interface Printed {
  tex: string;
  prec: number;
  /** Starts with a digit (a following number needs \cdot, not juxtaposition). */
  numeric?: boolean;
}

const wrap = (p: Printed, min: number): string => (p.prec < min ? `\\left(${p.tex}\\right)` : p.tex);

function number(v: number): Printed {
  const s = String(v);
  const m = /^(-?[\d.]+)e([+-]\d+)$/.exec(s);
  const tex = m ? `${m[1]} \\times 10^{${Number(m[2])}}` : s;
  return { tex, prec: v < 0 || m ? PRODUCT : ATOM, numeric: true };
}

function rationalTex(r: Rational): Printed {
  if (r.den === 1n) return { tex: `${r.num}`, prec: r.num < 0n ? PRODUCT : ATOM, numeric: true };
  const neg = r.num < 0n;
  return { tex: `${neg ? '-' : ''}\\frac{${neg ? -r.num : r.num}}{${r.den}}`, prec: PRODUCT, numeric: true };
}

function isNegative(n: Node): boolean {
  if (n.op === 'const') return n.value < 0;
  return n.op === 'mul' && n.args[0]!.op === 'const' && n.args[0]!.value < 0;
}

/** LaTeX of `node`; `names` says which nodes and variables have names of their own. */
export function toLatex(node: Node, names: LatexNames = {}): string {
  const memo = new Map<number, Printed>();
  const go = (n: Node, root = false): Printed => {
    const named = root ? undefined : names.nodes?.get(n.id);
    if (named !== undefined) return { tex: named, prec: ATOM };
    const hit = memo.get(n.id);
    if (hit !== undefined) return hit;
    const out = print(n);
    memo.set(n.id, out);
    return out;
  };
  const power = (base: Node, r: Rational): Printed => {
    if (r.num === 1n && r.den === 2n) return { tex: `\\sqrt{${go(base).tex}}`, prec: ATOM };
    if (r.num === 1n && r.den === 1n) return go(base);
    const b = go(base);
    // a named or atomic base takes the exponent directly; sigma_x^2 already carries one, so wrap it
    const needsParens = b.prec < ATOM || /\^\{?\d/.test(b.tex);
    const e = r.den === 1n ? `${r.num}` : `${r.num}/${r.den}`;
    return { tex: `${needsParens ? `\\left(${b.tex}\\right)` : b.tex}^{${e}}`, prec: POWER };
  };
  const print = (n: Node): Printed => {
    switch (n.op) {
      case 'const':
        return n.rat !== undefined ? rationalTex(n.rat) : number(n.value);
      case 'var':
        return { tex: names.vars?.[n.name!] ?? n.name!.replace(/_(\w+)$/, '_{$1}'), prec: ATOM };
      case 'add': {
        const terms = [...n.args.filter((a) => a.op !== 'const'), ...n.args.filter((a) => a.op === 'const')];
        let tex = wrap(go(terms[0]!), SUM);
        for (const t of terms.slice(1)) tex += isNegative(t) ? ` - ${wrap(go(mul(MINUS_ONE, t)), PRODUCT)}` : ` + ${wrap(go(t), SUM)}`;
        return { tex, prec: SUM };
      }
      case 'mul': {
        let args = n.args;
        let sign = '';
        const top: Printed[] = [];
        const bottom: Printed[] = [];
        if (args[0]!.op === 'const') {
          const c = args[0]!;
          args = args.slice(1);
          if (c.value < 0) sign = '-';
          if (c.rat !== undefined) {
            const p = c.rat.num < 0n ? -c.rat.num : c.rat.num;
            if (p !== 1n) top.push({ tex: `${p}`, prec: ATOM, numeric: true });
            if (c.rat.den !== 1n) bottom.push({ tex: `${c.rat.den}`, prec: ATOM, numeric: true });
          } else if (Math.abs(c.value) !== 1) top.push(number(Math.abs(c.value)));
        }
        for (const f of args) {
          if (f.op === 'pow' && f.rat!.num < 0n && names.nodes?.get(f.id) === undefined) bottom.push(power(f.args[0]!, { num: -f.rat!.num, den: f.rat!.den }));
          else top.push(go(f));
        }
        const join = (ps: Printed[]): string =>
          ps.length === 0 ? '1' : ps.map((p, i) => (i > 0 && (p.numeric ?? false) ? ` \\cdot ${wrap(p, PRODUCT + 1)}` : `${i > 0 ? ' \\, ' : ''}${wrap(p, PRODUCT + 1)}`)).join('');
        if (bottom.length === 0) return { tex: sign + join(top), prec: PRODUCT };
        return { tex: `${sign}\\frac{${join(top)}}{${join(bottom)}}`, prec: PRODUCT };
      }
      case 'pow':
        if (n.rat!.num < 0n) return { tex: `\\frac{1}{${power(n.args[0]!, { num: -n.rat!.num, den: n.rat!.den }).tex}}`, prec: PRODUCT };
        return power(n.args[0]!, n.rat!);
      case 'exp':
        return { tex: `e^{${go(n.args[0]!).tex}}`, prec: POWER };
      case 'log':
        return { tex: `\\log\\left(${go(n.args[0]!).tex}\\right)`, prec: ATOM };
      case 'abs':
        return { tex: `\\left\\lvert ${go(n.args[0]!).tex} \\right\\rvert`, prec: ATOM };
      case 'max':
        return { tex: `\\max\\left(${go(n.args[0]!).tex}, ${go(n.args[1]!).tex}\\right)`, prec: ATOM };
      case 'step':
        return { tex: `H\\left(${go(n.args[0]!).tex}\\right)`, prec: ATOM };
      case 'sign':
        return { tex: `\\operatorname{sgn}\\left(${go(n.args[0]!).tex}\\right)`, prec: ATOM };
      case 'powv':
        return { tex: `${wrap(go(n.args[0]!), ATOM)}^{${go(n.args[1]!).tex}}`, prec: POWER };
    }
  };
  return go(node, true).tex;
}
