/**
 * Straight-line code for a set of outputs of the expression graph: one `const` per node in
 * topological order (interning made the common subexpressions shared nodes, so this is CSE for
 * free), named by the graph's display names where it has them. Two arithmetics: float64 as
 * written, or float32 emulated by Math.fround after every operation (what a float32 GPU kernel
 * does, for measuring the rounding floor). Each op's spelling is its row's `code` (ops.ts).
 */
import { namedOutputs, topoSort, type Node } from './node.js';
import type { CodeTarget, Language } from './notation.js';
import { rules } from './ops.js';

export type { Language } from './notation.js';

/**
 * How the code is printed: in TypeScript (the default) or C++, and whether it emulates float32
 * (`fround`: constants rounded to float32, Math.fround after every operation; TypeScript only).
 * The precision's own vocabulary (src/field/precision.ts) sits in a layer expr does not import.
 */
export interface PointwiseTarget {
  readonly lang?: Language;
  readonly fround?: boolean;
}

/**
 * The spellings that differ between the languages (one table, so the two printers cannot drift):
 * TypeScript (`const a = ...`, Math.*) or C++ (`const T a = ...`, std::*, literals as T(...) so
 * that a float kernel computes in float). The scheduling is the same.
 */
const SPELLING: Record<Language, { decl: string } & Pick<CodeTarget, 'fn' | 'lit' | 'bool'>> = {
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

/**
 * Emits code computing `outputs` (name, node) from variables that are already in scope under
 * their graph names. `names` gives display names to intermediate nodes (var_x, A1, ...).
 */
export function emitPointwise(
  outputs: ReadonlyArray<readonly [string, Node]>,
  names: ReadonlyMap<Node, string>,
  { lang = 'ts', fround = false }: PointwiseTarget = {},
): PointwiseCode {
  if (lang === 'cpp' && fround) throw new Error('emitPointwise: C++ computes in its type T; emulated float32 is for TypeScript');
  const { decl, ...sp } = SPELLING[lang];
  const target: CodeTarget = { lang, fround, round: (e) => (fround ? `Math.fround(${e})` : e), ...sp };
  const ref = new Map<number, string>();
  const lines: string[] = [];
  let temp = 0;
  let flops = 0;
  const outNames = namedOutputs(outputs);
  for (const n of topoSort(outputs.map(([, node]) => node))) {
    const code = rules[n.op].code(
      n,
      n.args.map((m) => ref.get(m.id)!),
      target,
    );
    // a leaf (variable, constant) is written where it is used
    if (n.args.length === 0) {
      ref.set(n.id, code.expr);
      continue;
    }
    flops += code.flops;
    const name = outNames.get(n.id) ?? names.get(n) ?? `t${temp++}`;
    lines.push(`${decl} ${name} = ${code.expr};`);
    ref.set(n.id, name);
  }
  // an output that is the same node as an earlier one (interning found them equal: dS/dm_yy is
  // dS/dm_xx) or a leaf gets an alias, so every output name is in scope
  const outputNames = outputs.map(([name, node]) => {
    const r = ref.get(node.id)!;
    if (r !== name) lines.push(`${decl} ${name} = ${r};`);
    return name;
  });
  return { lines, outputNames, flops };
}
