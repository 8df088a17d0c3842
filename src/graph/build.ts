/** Constructors of field-graph nodes, with the shape checks (src/graph/node.ts says what each kind is). */
import { variable, variablesOf, type Node } from '../expr/index.js';
import { InputError, type Shape4 } from '../field/index.js';
import { linearOp, type LinearSpec } from './linear.js';
import { newId, type FieldNode, type InputNode, type LinearNode, type MapNode, type Reduction, type ReduceNode } from './node.js';

/** An input field (x, y, or a field a variant reads, such as a mask). */
export function input(name: string, shape: Shape4): InputNode {
  return { kind: 'input', id: newId(), shape, label: name, name };
}

/** A linear operator of the table applied to a field. */
export function linear(spec: LinearSpec, arg: FieldNode, label?: string): LinearNode {
  const op = linearOp(spec, arg.shape);
  return { kind: 'linear', id: newId(), shape: op.outShape, label: label ?? spec.kind, spec, op, arg };
}

/** The shape the arguments broadcast to (each dimension equal, or 1). */
export function broadcastShape(shapes: readonly Shape4[], what: string): Shape4 {
  const out = [1, 1, 1, 1];
  for (const s of shapes) for (let d = 0; d < 4; d++) out[d] = Math.max(out[d]!, s[d]!);
  for (const s of shapes) {
    for (let d = 0; d < 4; d++) {
      if (s[d] !== 1 && s[d] !== out[d]) throw new InputError(`${what}: shapes ${shapes.map((t) => `[${t}]`).join(', ')} do not broadcast (dimension ${'NCHW'[d]})`);
    }
  }
  return out as unknown as Shape4;
}

/**
 * A pointwise map: `expr` over variables bound to fields (`args`) and numbers (`consts`). Every
 * variable of expr must be bound; partials override the symbolic derivative where given.
 */
export function map(
  expr: Node,
  args: Readonly<Record<string, FieldNode>>,
  opts: { consts?: Readonly<Record<string, number>>; partials?: Readonly<Record<string, Node>>; label?: string } = {},
): MapNode {
  const consts = opts.consts ?? {};
  const label = opts.label ?? 'map';
  for (const v of variablesOf([expr, ...Object.values(opts.partials ?? {})])) {
    if (!(v in args) && !(v in consts)) throw new Error(`${label}: variable ${v} is bound to no field and no number`);
  }
  const shapes = Object.values(args).map((a) => a.shape);
  if (shapes.length === 0) throw new Error(`${label}: a map needs at least one field argument`);
  return { kind: 'map', id: newId(), shape: broadcastShape(shapes, label), label, expr, args, consts, partials: opts.partials ?? {} };
}

/** A reduction: 'mean' and 'sum' over everything (a scalar), 'planeMean' and 'planeSum' over each plane (N x C x 1 x 1). */
export function reduce(how: Reduction, arg: FieldNode, label?: string): ReduceNode {
  const [N, C] = arg.shape;
  const shape: Shape4 = how === 'mean' || how === 'sum' ? [1, 1, 1, 1] : [N, C, 1, 1];
  return { kind: 'reduce', id: newId(), shape, label: label ?? how, how, arg };
}

/** a op b for two fields (broadcast), by a two-variable expression. */
export function binary(f: (a: Node, b: Node) => Node, a: FieldNode, b: FieldNode, label?: string): MapNode {
  return map(f(variable('a'), variable('b')), { a, b }, { label });
}
