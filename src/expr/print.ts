/**
 * The infix printer: a precedence-aware string in mathjs syntax that mathjs parses back to the
 * same function (sums print differences, products print quotients, x^(1/2) prints sqrt(x)).
 * `step` has no mathjs builtin; evaluate printed strings with `mathjsScope` (see mathjs.ts).
 */
import { mul, MINUS_ONE } from './build.js';
import type { Node } from './node.js';
import type { Rational } from './rational.js';

const SUM = 1;
const PRODUCT = 2;
const POWER = 3;
const ATOM = 4;

interface Printed {
  text: string;
  prec: number;
}

const wrap = (p: Printed, min: number): string => (p.prec < min ? `(${p.text})` : p.text);

function printRational(r: Rational): Printed {
  if (r.den === 1n) return { text: `${r.num}`, prec: r.num < 0n ? PRODUCT : ATOM };
  return { text: `${r.num}/${r.den}`, prec: PRODUCT };
}

function printConst(n: Node): Printed {
  if (n.rat !== undefined) return printRational(n.rat);
  const text = String(n.value);
  return { text, prec: n.value < 0 ? PRODUCT : ATOM };
}

/** A term of a sum that prints better subtracted: a negative constant or coefficient. */
function isNegative(n: Node): boolean {
  if (n.op === 'const') return n.value < 0;
  return n.op === 'mul' && n.args[0]!.op === 'const' && n.args[0]!.value < 0;
}

function printPow(base: Node, r: Rational, go: (n: Node) => Printed): Printed {
  if (r.num === 1n && r.den === 1n) return go(base);
  if (r.num === 1n && r.den === 2n) return { text: `sqrt(${go(base).text})`, prec: ATOM };
  if (r.num < 0n) {
    return { text: `1 / ${wrap(printPow(base, { num: -r.num, den: r.den }, go), POWER)}`, prec: PRODUCT };
  }
  const e = r.den === 1n ? `${r.num}` : `(${r.num}/${r.den})`;
  return { text: `${wrap(go(base), ATOM)}^${e}`, prec: POWER };
}

function printMul(n: Node, go: (n: Node) => Printed): Printed {
  let args = n.args;
  let sign = '';
  const numer: string[] = [];
  const denom: Printed[] = [];
  if (args[0]!.op === 'const') {
    const c = args[0]!;
    args = args.slice(1);
    const value = c.value < 0 ? -1 : 1;
    if (value < 0) sign = '-';
    if (c.rat !== undefined) {
      const p = c.rat.num < 0n ? -c.rat.num : c.rat.num;
      if (p !== 1n) numer.push(`${p}`);
      if (c.rat.den !== 1n) denom.push({ text: `${c.rat.den}`, prec: ATOM });
    } else if (Math.abs(c.value) !== 1) numer.push(String(Math.abs(c.value)));
  }
  for (const f of args) {
    if (f.op === 'pow' && f.rat!.num < 0n) {
      denom.push(printPow(f.args[0]!, { num: -f.rat!.num, den: f.rat!.den }, go));
    } else numer.push(wrap(go(f), PRODUCT + 1));
  }
  const top = numer.length === 0 ? '1' : numer.join(' * ');
  if (denom.length === 0) return { text: sign + top, prec: PRODUCT };
  const bottom =
    denom.length === 1 ? wrap(denom[0]!, POWER) : `(${denom.map((d) => wrap(d, PRODUCT + 1)).join(' * ')})`;
  return { text: `${sign}${top} / ${bottom}`, prec: PRODUCT };
}

function printNode(n: Node, memo: Map<number, Printed>): Printed {
  const hit = memo.get(n.id);
  if (hit !== undefined) return hit;
  const go = (m: Node): Printed => printNode(m, memo);
  let out: Printed;
  switch (n.op) {
    case 'const':
      out = printConst(n);
      break;
    case 'var':
      out = { text: n.name!, prec: ATOM };
      break;
    case 'add': {
      // Constant last reads better: x + 1.
      const terms = [...n.args.filter((a) => a.op !== 'const'), ...n.args.filter((a) => a.op === 'const')];
      let text = wrap(go(terms[0]!), SUM);
      for (const t of terms.slice(1)) {
        text += isNegative(t) ? ` - ${wrap(go(mul(MINUS_ONE, t)), PRODUCT)}` : ` + ${wrap(go(t), SUM)}`;
      }
      out = { text, prec: SUM };
      break;
    }
    case 'mul':
      out = printMul(n, go);
      break;
    case 'pow':
      out = printPow(n.args[0]!, n.rat!, go);
      break;
    case 'max':
      out = { text: `max(${go(n.args[0]!).text}, ${go(n.args[1]!).text})`, prec: ATOM };
      break;
    case 'powv':
      out = { text: `${wrap(go(n.args[0]!), ATOM)}^(${go(n.args[1]!).text})`, prec: POWER };
      break;
    default:
      out = { text: `${n.op}(${go(n.args[0]!).text})`, prec: ATOM };
  }
  memo.set(n.id, out);
  return out;
}

/** The expression as an infix string in mathjs syntax. */
export function toInfix(n: Node): string {
  return printNode(n, new Map()).text;
}

