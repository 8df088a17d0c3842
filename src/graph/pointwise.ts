/**
 * Pointwise maps over fields, as the evaluator runs them: the scalar graph's expressions compiled
 * to one loop over the pixels, broadcasting (a field read at every element of a larger shape) and
 * its transpose (a sum over the dimensions broadcast along).
 */
import { grad, mul, substitute, variable, type Node } from '../expr/index.js';
import { rounding, sizeOf, type Precision, type Shape4 } from '../field/index.js';
import { emitPointwise } from '../expr/pointwise.js';
import type { FieldNode, MapNode } from './node.js';

/** Index into a field of shape `from` for each element of the broadcast shape `to` (null when the shapes are equal). */
function broadcastIndex(from: Shape4, to: Shape4): Int32Array | null {
  if (from.join() === to.join()) return null;
  const [N, C, H, W] = to;
  const idx = new Int32Array(N * C * H * W);
  const st = [from[1] * from[2] * from[3], from[2] * from[3], from[3], 1];
  let q = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    idx[q++] = (from[0] === 1 ? 0 : n) * st[0]! + (from[1] === 1 ? 0 : c) * st[1]! + (from[2] === 1 ? 0 : h) * st[2]! + (from[3] === 1 ? 0 : w) * st[3]!;
  }
  return idx;
}

/** A field of shape `from` read at every element of the shape `to` it broadcasts to. */
export const expand = (v: Float64Array, from: Shape4, to: Shape4): Float64Array => {
  const idx = broadcastIndex(from, to);
  return idx === null ? v : Float64Array.from(idx, (i) => v[i]!);
};

/** The transpose of broadcasting: sums over the dimensions `to` broadcast along. */
export function reduceToShape(v: Float64Array, from: Shape4, to: Shape4, a: Precision): Float64Array {
  const idx = broadcastIndex(to, from);
  if (idx === null) return v;
  const r = rounding(a);
  const out = new Float64Array(sizeOf(to));
  for (let q = 0; q < idx.length; q++) out[idx[q]!] = r(out[idx[q]!]! + v[q]!);
  return out;
}

type Compiled = (arrays: Float64Array[], consts: number[], outputs: Float64Array[], n: number) => void;
const compiledCache = new Map<string, Compiled>();

/**
 * Outputs (expressions over `arrays` and `consts`, named by variable) compiled to one loop over the
 * pixels: the pointwise printer's straight-line code in `new Function` (the code comes from the
 * graph; variables are renamed v0, v1, ... so no name of a user's can reach it).
 */
function compile(outputs: readonly Node[], arrays: readonly string[], consts: readonly string[], a: Precision): Compiled {
  const key = `${a}|${arrays.join(',')}|${consts.join(',')}|${outputs.map((o) => o.id).join(',')}`;
  const hit = compiledCache.get(key);
  if (hit !== undefined) return hit;
  const all = [...arrays, ...consts];
  const renamed = substitute([...outputs], new Map(all.map((v, i) => [v, variable(`v${i}`)] as const)));
  const code = emitPointwise(renamed.map((o, i) => [`out_${i}`, o] as const), new Map(), { fround: a === 'float32' });
  const body = [
    ...arrays.map((_, i) => `const a${i} = arrays[${i}];`),
    ...consts.map((_, i) => `const v${arrays.length + i} = consts[${i}];`),
    ...outputs.map((_, i) => `const o${i} = outputs[${i}];`),
    'for (let p = 0; p < n; p++) {',
    ...arrays.map((_, i) => `  const v${i} = a${i}[p];`),
    ...code.lines.map((l) => `  ${l}`),
    ...outputs.map((_, i) => `  o${i}[p] = out_${i};`),
    '}',
  ].join('\n');
  const f = new Function('arrays', 'consts', 'outputs', 'n', body) as Compiled;
  compiledCache.set(key, f);
  return f;
}

/** A map's value at every element of its shape. */
export function runMap(n: MapNode, val: (n: FieldNode) => Float64Array, a: Precision): Float64Array {
  const names = Object.keys(n.args);
  const consts = Object.keys(n.consts);
  const size = sizeOf(n.shape);
  const out = new Float64Array(size);
  const arrays = names.map((v) => expand(val(n.args[v]!), n.args[v]!.shape, n.shape));
  compile([n.expr], names, consts, a)(arrays, consts.map((c) => rounding(a)(n.consts[c]!)), [out], size);
  return out;
}

/** bar * p for each partial expression p of the map's variables, in one loop (each of the map's shape). */
export function runPartials(n: MapNode, partials: readonly Node[], bar: Float64Array, val: (n: FieldNode) => Float64Array, a: Precision): Float64Array[] {
  if (partials.length === 0) return [];
  const names = Object.keys(n.args);
  const consts = Object.keys(n.consts);
  // the adjoint's variable: a name none of the map's own variables has
  let barName = 'bar_';
  while (names.includes(barName) || consts.includes(barName)) barName += '_';
  const barVar = variable(barName);
  const outputs = partials.map((p) => mul(barVar, p));
  const size = sizeOf(n.shape);
  const results = partials.map(() => new Float64Array(size));
  const arrays = [...names.map((v) => expand(val(n.args[v]!), n.args[v]!.shape, n.shape)), expand(bar, barShape(bar, n.shape), n.shape)];
  const constValues = consts.map((c) => n.consts[c]!);
  compile(outputs, [...names, barName], consts, a)(arrays, constValues.map(rounding(a)), results, size);
  return results;
}

const barShape = (bar: Float64Array, shape: Shape4): Shape4 => (bar.length === sizeOf(shape) ? shape : [1, 1, 1, 1]);

/** A map's partial with respect to one of its variables, as reverse mode takes it: the one given, else the symbolic one. */
export function partialOf(n: MapNode, v: string): Node {
  return n.partials[v] ?? symbolicPartials(n.expr, [v])[0]!;
}

const partialsCache = new Map<string, Node[]>();
/** d expr / d v for each named variable (symbolic reverse mode of the scalar graph, cached). */
function symbolicPartials(expr: Node, names: readonly string[]): Node[] {
  const key = `${expr.id}|${names.join(',')}`;
  let hit = partialsCache.get(key);
  if (hit === undefined) partialsCache.set(key, (hit = grad(expr, names.map((v) => variable(v)))));
  return hit;
}

/** A field the caller binds to a fresh variable of a map's expressions (an adjoint, a tangent), with its shape. */
export interface ExtraField {
  readonly value: Float64Array;
  readonly shape: Shape4;
}

/**
 * Expressions over a map's own variables (its arguments and constants) and `extra` fields (bound
 * to the fresh variables `fresh` returns), at every element of the map's shape, in one compiled
 * loop: what forward mode (the tangent sum of partials times tangents) and second order (an
 * adjoint's tangent) run. `build` gets the map's variables and the fresh ones by extra's keys.
 */
export function runMapWith(
  n: MapNode,
  extra: Readonly<Record<string, ExtraField>>,
  build: (fresh: Readonly<Record<string, Node>>) => readonly Node[],
  val: (n: FieldNode) => Float64Array,
  a: Precision,
): Float64Array[] {
  const names = Object.keys(n.args);
  const consts = Object.keys(n.consts);
  const taken = new Set([...names, ...consts]);
  const freshNames: Record<string, string> = {};
  for (const k of Object.keys(extra)) {
    let name = `${k}_`;
    while (taken.has(name)) name += '_';
    taken.add(name);
    freshNames[k] = name;
  }
  const outputs = build(Object.fromEntries(Object.entries(freshNames).map(([k, v]) => [k, variable(v)])));
  if (outputs.length === 0) return [];
  const size = sizeOf(n.shape);
  const results = outputs.map(() => new Float64Array(size));
  const extraKeys = Object.keys(extra);
  const arrays = [
    ...names.map((v) => expand(val(n.args[v]!), n.args[v]!.shape, n.shape)),
    ...extraKeys.map((k) => expand(extra[k]!.value, extra[k]!.shape, n.shape)),
  ];
  compile(outputs, [...names, ...extraKeys.map((k) => freshNames[k]!)], consts, a)(arrays, consts.map((c) => rounding(a)(n.consts[c]!)), results, size);
  return results;
}

/** d p / d v for an expression p of a map's variables (the second partials: p a partial), symbolic and cached. */
export function partialsOf(p: Node, names: readonly string[]): Node[] {
  return symbolicPartials(p, names);
}
