/**
 * Straight-line code for a set of outputs of the expression graph: one `const` per node in
 * topological order (interning made the common subexpressions shared nodes, so this is CSE for
 * free), named by the graph's display names where it has them. Two arithmetics: float64 as
 * written, or float32 emulated by Math.fround after every operation (what a float32 GPU kernel
 * does, for measuring the rounding floor).
 */
import { topoSort, type Node } from '../expr/index.js';

export type Arithmetic = 'f64' | 'f32';

/**
 * The language printed: TypeScript (`const a = ...`, Math.*) or C++ (`const T a = ...`, std::*,
 * literals as T(...) so that a float kernel computes in float). The scheduling is the same.
 */
export type Language = 'ts' | 'cpp';

/** The spellings that differ between the languages (one table, so the two printers cannot drift). */
const SPELLING: Record<Language, { decl: string; fn: (name: string) => string; lit: (s: string) => string; bool: (cond: string) => string }> = {
  ts: { decl: 'const', fn: (name) => `Math.${name}`, lit: (s) => s, bool: (cond) => `(${cond} ? 1 : 0)` },
  cpp: { decl: 'const T', fn: (name) => `std::${name}`, lit: (s) => `T(${s.replace(/^\((.*)\)$/, '$1')})`, bool: (cond) => `T(${cond} ? 1 : 0)` },
};

export interface PointwiseCode {
  /** Lines, without indentation. */
  readonly lines: string[];
  /** The variable each output ends up in. */
  readonly outputNames: string[];
  /** Floating-point operations per evaluation (each add, multiply, divide, sqrt, exp, ... counts 1). */
  readonly flops: number;
}

function literal(n: Node): string {
  const v = n.value;
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  return v < 0 ? `(${s})` : s;
}

/**
 * Emits code computing `outputs` (name, node) from variables that are already in scope under
 * their graph names. `names` gives display names to intermediate nodes (var_x, A1, ...).
 */
export function emitPointwise(
  outputs: ReadonlyArray<readonly [string, Node]>,
  names: ReadonlyMap<Node, string>,
  arith: Arithmetic = 'f64',
  lang: Language = 'ts',
): PointwiseCode {
  if (lang === 'cpp' && arith === 'f32') throw new Error('emitPointwise: C++ computes in its type T; emulated float32 is for TypeScript');
  const sp = SPELLING[lang];
  const f = (e: string): string => (arith === 'f32' ? `Math.fround(${e})` : e);
  const ref = new Map<number, string>();
  const lines: string[] = [];
  let temp = 0;
  let flops = 0;
  const outNames = new Map<number, string>();
  for (const [name, node] of outputs) if (!outNames.has(node.id) && node.op !== 'var' && node.op !== 'const') outNames.set(node.id, name);
  for (const n of topoSort(outputs.map(([, node]) => node))) {
    if (n.op === 'var') {
      ref.set(n.id, n.name!);
      continue;
    }
    if (n.op === 'const') {
      ref.set(n.id, arith === 'f32' ? `${Math.fround(n.value)}` : sp.lit(literal(n)));
      continue;
    }
    const a = n.args.map((m) => ref.get(m.id)!);
    let e: string;
    switch (n.op) {
      case 'add': {
        // n-ary sums are emitted as a left-to-right chain, rounding after each addition in f32
        e = a[0]!;
        for (const t of a.slice(1)) e = f(`${e} + ${t}`);
        flops += a.length - 1;
        break;
      }
      case 'mul': {
        // a leading -1 is a negation (exact, no rounding); other constants lead the product
        const negate = n.args[0]!.op === 'const' && n.args[0]!.value === -1 && a.length > 1;
        const factors = negate ? a.slice(1) : a;
        e = factors[0]!.startsWith('(-') ? factors[0]!.slice(1, -1) : factors[0]!;
        for (const t of factors.slice(1)) e = f(`${e} * ${t}`);
        if (negate) e = factors.length > 1 ? `-(${e})` : `-${e}`;
        flops += factors.length - 1;
        break;
      }
      case 'pow': {
        const r = n.rat!;
        const x = a[0]!;
        const key = `${r.num}/${r.den}`;
        const table: Record<string, [string, number]> = {
          '2/1': [f(`${x} * ${x}`), 1],
          '-1/1': [f(`1 / ${x}`), 1],
          '-2/1': [f(`1 / (${f(`${x} * ${x}`)})`), 2],
          '1/2': [f(`${sp.fn('sqrt')}(${x})`), 1],
          '-1/2': [f(`1 / ${f(`${sp.fn('sqrt')}(${x})`)}`), 2],
          '3/1': [f(`${f(`${x} * ${x}`)} * ${x}`), 2],
        };
        const hit = table[key];
        if (hit !== undefined) {
          [e, flops] = [hit[0], flops + hit[1]];
        } else {
          e = f(`${sp.fn('pow')}(${x}, ${sp.lit(String(Number(r.num) / Number(r.den)))})`);
          flops += 1;
        }
        break;
      }
      case 'exp':
      case 'log':
      case 'abs':
        e = f(`${sp.fn(n.op)}(${a[0]})`);
        flops += 1;
        break;
      case 'sign':
        // C++ has no std::sign; (a > 0) - (a < 0) is its usual spelling
        e = lang === 'ts' ? f(`Math.sign(${a[0]})`) : `T((${a[0]} > 0) - (${a[0]} < 0))`;
        flops += 1;
        break;
      case 'max':
        e = `${sp.fn('max')}(${a[0]}, ${a[1]})`;
        flops += 1;
        break;
      case 'powv':
        e = f(`${sp.fn('pow')}(${a[0]}, ${a[1]})`);
        flops += 1;
        break;
      case 'step':
        e = sp.bool(`${a[0]} > 0`);
        flops += 1;
        break;
      default:
        throw new Error(`emitPointwise: no rule for ${n.op}`);
    }
    const name = outNames.get(n.id) ?? names.get(n) ?? `t${temp++}`;
    lines.push(`${sp.decl} ${name} = ${e};`);
    ref.set(n.id, name);
  }
  // an output that is the same node as an earlier one (interning found them equal: dS/dm_yy is
  // dS/dm_xx) or a leaf gets an alias, so every output name is in scope
  const outputNames = outputs.map(([name, node]) => {
    const r = ref.get(node.id)!;
    if (r !== name) lines.push(`${sp.decl} ${name} = ${r};`);
    return name;
  });
  return { lines, outputNames, flops };
}
