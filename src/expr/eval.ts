/** Evaluation of expression DAGs: scalar, and vectorised over one value per pixel. */
import { topoSort, type Node } from './node.js';
import { rules } from './ops.js';

/** Values of the variables, by name. */
export type Env = Readonly<Record<string, number>>;

/** Evaluates several outputs at one point, each shared node once. */
export function evaluateMany(outputs: readonly Node[], env: Env): number[] {
  const values = new Map<number, number>();
  for (const node of topoSort(outputs)) {
    let v: number;
    if (node.op === 'var') {
      const x = env[node.name!];
      if (x === undefined) throw new Error(`evaluate: no value for variable '${node.name}'`);
      v = x;
    } else {
      v = rules[node.op].evaluate(
        node,
        node.args.map((a) => values.get(a.id)!),
      );
    }
    values.set(node.id, v);
  }
  return outputs.map((o) => values.get(o.id)!);
}

/** Evaluates one output at one point. */
export function evaluate(output: Node, env: Env): number {
  return evaluateMany([output], env)[0]!;
}

/**
 * Evaluates outputs over arrays: `env[name][p]` is the variable at pixel p, and each output
 * comes back as a Float64Array of the same length. Each node is one pass over the pixels.
 */
export function evaluateVec(outputs: readonly Node[], env: Readonly<Record<string, Float64Array>>, length: number): Float64Array[] {
  const values = new Map<number, Float64Array>();
  const scratch: number[] = [];
  for (const node of topoSort(outputs)) {
    let v: Float64Array;
    if (node.op === 'var') {
      const x = env[node.name!];
      if (x === undefined) throw new Error(`evaluateVec: no array for variable '${node.name}'`);
      if (x.length !== length) throw new Error(`evaluateVec: '${node.name}' has ${x.length} values, expected ${length}`);
      v = x;
    } else if (node.op === 'const') {
      v = new Float64Array(length).fill(node.value);
    } else {
      const args = node.args.map((a) => values.get(a.id)!);
      const rule = rules[node.op];
      v = new Float64Array(length);
      for (let p = 0; p < length; p++) {
        for (let i = 0; i < args.length; i++) scratch[i] = args[i]![p]!;
        scratch.length = args.length;
        v[p] = rule.evaluate(node, scratch);
      }
    }
    values.set(node.id, v);
  }
  return outputs.map((o) => values.get(o.id)!);
}
