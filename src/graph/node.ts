/**
 * The field-level graph: values are fields over N x C x H x W (a scalar is a 1 x 1 x 1 x 1 field,
 * a per-plane quantity N x C x 1 x 1), and a loss is a graph of four kinds of node:
 *
 * - input:   an image (x, y) or another field the loss reads (a mask);
 * - linear:  a linear field operator from the one table of src/graph/linear.ts (window
 *            correlation under a boundary rule, crop, pooling, downsampling, a channel mix),
 *            which knows its transpose;
 * - map:     a pointwise map, one expression of the scalar graph (src/expr) over its argument
 *            fields (broadcast where a dimension is 1), with its partials symbolic;
 * - reduce:  a mean or sum, over everything or over each plane.
 *
 * A `block` is a windowed map reduced over its region (SSIM itself, cs, Wang's form): a fine
 * graph of the four kinds, which the evaluator may run on the kernels generated from the same
 * scalar map instead (src/graph/evaluate.ts).
 *
 * Graphs are built for concrete shapes (each evaluation builds its own, which costs nothing
 * next to the arithmetic), so every node knows its shape and shape errors surface while building.
 */
import type { Node } from '../expr/index.js';
import type { LinearOp, Shape4 } from '../field/index.js';
import type { SsimConfig, SsimOptions } from '../model/options.js';
import type { LinearSpec } from './linear.js';

/** How a reduce node reduces: over everything or per (image, channel) plane, a mean or a sum. */
export type Reduction = 'mean' | 'sum' | 'planeMean' | 'planeSum';

interface Common {
  readonly id: number;
  readonly shape: Shape4;
  /** A name for documents and traces (mu_x, S, loss, ...). */
  readonly label: string;
}

/** An input field: an image (x, y) or another field the loss reads (a mask). */
export interface InputNode extends Common {
  readonly kind: 'input';
  readonly name: string;
}

/** A linear field operator (window, crop, pooling, downsampling, channel mix) applied to its argument; it knows its transpose. */
export interface LinearNode extends Common {
  readonly kind: 'linear';
  readonly spec: LinearSpec;
  readonly op: LinearOp;
  readonly arg: FieldNode;
}

/** A pointwise map: one expression of the scalar graph over its argument fields, with symbolic partials. */
export interface MapNode extends Common {
  readonly kind: 'map';
  /** The value at each pixel, over the variables named in `args` and `consts`. */
  readonly expr: Node;
  /** Argument fields by variable name. */
  readonly args: Readonly<Record<string, FieldNode>>;
  /** Variables bound to numbers (C1, C2, ...). */
  readonly consts: Readonly<Record<string, number>>;
  /**
   * Partials d expr / d arg where they are not the symbolic derivative of `expr` (Wang's
   * d sigma / d var = 0 where a variance is zero); absent args take grad(expr).
   */
  readonly partials: Readonly<Record<string, Node>>;
}

/** A mean or sum of its argument, over everything or per plane. */
export interface ReduceNode extends Common {
  readonly kind: 'reduce';
  readonly how: Reduction;
  readonly arg: FieldNode;
}

/** The pointwise map a block windows: its value F over the window moments and its partials. */
export interface BlockMap {
  /** Name of its generated kernel family (src/generated), or null when it has none. */
  readonly kernels: string | null;
  /** Runtime parameters of the kernels (Wang's exponents). */
  readonly kernelParams: Readonly<Record<string, number>>;
}

/** A windowed map reduced over its region (SSIM, cs, Wang's form): runs on its generated kernels or its fine graph. */
export interface BlockNode extends Common {
  readonly kind: 'block';
  /** The windowed map's images. */
  readonly x: FieldNode;
  readonly y: FieldNode;
  readonly config: SsimConfig;
  /** SSIM options without downsampling (the kernels' plan), for the fast path. */
  readonly options: SsimOptions;
  readonly map: BlockMap;
  /** 'loss': reduced as the config says (a scalar); 'planes': the mean over each plane's region. */
  readonly reduce: 'loss' | 'planes';
  /** The same quantity as a fine graph of inputs, linear, map and reduce nodes. */
  readonly expanded: FieldNode;
  /** The fine graph's named fields (mu_x, ..., the map, its region), for traces and documents. */
  readonly parts: Readonly<Record<string, FieldNode>>;
}

/** A node of the field graph: input, linear, map, reduce or block. */
export type FieldNode = InputNode | LinearNode | MapNode | ReduceNode | BlockNode;

let nextId = 1;
export const newId = (): number => nextId++;

/** The node's arguments (a block's are its two images; its fine graph is reached through `expanded`). */
export function argsOf(n: FieldNode): FieldNode[] {
  switch (n.kind) {
    case 'input':
      return [];
    case 'linear':
    case 'reduce':
      return [n.arg];
    case 'map':
      return Object.values(n.args);
    case 'block':
      return [n.x, n.y];
  }
}

/**
 * Nodes reachable from the outputs, arguments before users. `expand` walks blocks' fine graphs
 * instead of the blocks (all of them, or those it returns true for).
 */
export function topoOrder(outputs: readonly FieldNode[], expand: boolean | ((b: BlockNode) => boolean) = false): FieldNode[] {
  const expands = (b: BlockNode): boolean => (typeof expand === 'function' ? expand(b) : expand);
  const seen = new Set<number>();
  const order: FieldNode[] = [];
  const visit = (root: FieldNode): void => {
    const stack: Array<[FieldNode, boolean]> = [[root, false]];
    while (stack.length > 0) {
      const [n, done] = stack.pop()!;
      if (done) {
        order.push(n);
        continue;
      }
      if (seen.has(n.id)) continue;
      if (n.kind === 'block' && expands(n)) {
        stack.push([n.expanded, false]);
        continue;
      }
      seen.add(n.id);
      stack.push([n, true]);
      for (const a of argsOf(n).reverse()) if (!seen.has(a.id)) stack.push([a, false]);
    }
  };
  for (const o of outputs) visit(o);
  return order;
}

/** The output of a node as the evaluator sees it (a block stands for its fine graph's output when expanded). */
export const resolved = (n: FieldNode, expand: boolean | ((b: BlockNode) => boolean)): FieldNode =>
  n.kind === 'block' && (typeof expand === 'function' ? expand(n) : expand) ? resolved(n.expanded, expand) : n;
