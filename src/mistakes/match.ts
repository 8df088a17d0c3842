/**
 * The loss's graph taken apart for the mistakes, by its shape alone (nothing here knows a
 * variant): the moment structures (a map over mu = W x, m_xx = W (x x), m_xy = W (x y), ...), the
 * blocks reduced to the loss with their region, and the nodes outside them.
 */
import type { Shape4 } from '../field/index.js';
import { argsOf, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode, type ReduceNode } from '../graph/node.js';
import { namedInOutputs } from '../variants/registry.js';
import { variantGraph, type VariantGraph } from '../variants/evaluate.js';
import { memo, optionsOf, type MistakeContext } from './context.js';

/** The windowed moments of one map: mu_x = W x, ..., the map F over them, and the pointwise products. */
export interface MomentStructure {
  readonly map: MapNode;
  readonly windows: Readonly<Record<'mu_x' | 'mu_y' | 'm_xx' | 'm_yy' | 'm_xy', LinearNode>>;
  /** The maps x x, y y and x y the windows average. */
  readonly square: { readonly x: MapNode; readonly y: MapNode };
  readonly cross: MapNode;
  /** The fields the windows read as x and y (the work grid's images). */
  readonly x: FieldNode;
  readonly y: FieldNode;
}

/** A variant's graph for one pair of images, with the nodes the mistakes rewrite. */
export interface Anatomy {
  readonly vg: VariantGraph;
  /** Whether the variant's outputs are SSIM's own (its `outputs`: plain SSIM): SSIM's mistakes under their own kinds and order. */
  readonly ssimOutputs: boolean;
  readonly name: string;
  readonly moments: readonly MomentStructure[];
  /** Every window node of a moment structure. */
  readonly windows: ReadonlySet<LinearNode>;
  /** Blocks reduced to the loss (one scalar, SSIM's mean), with the reduce over their region and the region. */
  readonly lossBlocks: ReadonlyArray<{ readonly block: BlockNode; readonly reduce: ReduceNode; readonly region: FieldNode; readonly crop: LinearNode | null }>;
  /** Ids of nodes inside blocks' fine graphs. */
  readonly inner: ReadonlySet<number>;
  /** Nodes outside blocks and moment structures, arguments before users. */
  readonly outerMaps: readonly MapNode[];
  readonly outerLinear: readonly LinearNode[];
  readonly outerReduces: readonly ReduceNode[];
  /** Whether the loss still depends on an image when the edges `cut` says are left out. */
  depends(cut: (n: FieldNode, a: FieldNode) => boolean): boolean;
}

export const MOMENTS = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const;

function momentStructure(n: FieldNode): MomentStructure | null {
  if (n.kind !== 'map') return null;
  const w: Partial<Record<(typeof MOMENTS)[number], LinearNode>> = {};
  for (const k of MOMENTS) {
    const a = n.args[k];
    if (a === undefined || a.kind !== 'linear' || a.spec.kind !== 'window') return null;
    w[k] = a;
  }
  const windows = w as Record<(typeof MOMENTS)[number], LinearNode>;
  const sx = windows.m_xx.arg;
  const sy = windows.m_yy.arg;
  const c = windows.m_xy.arg;
  if (sx.kind !== 'map' || sy.kind !== 'map' || c.kind !== 'map') return null;
  return { map: n, windows, square: { x: sx, y: sy }, cross: c, x: windows.mu_x.arg, y: windows.mu_y.arg };
}

/** The graph taken apart. */
export function anatomyOf(vg: VariantGraph): Anatomy {
  const all = topoOrder([vg.loss], true);
  const moments = all.map(momentStructure).filter((m): m is MomentStructure => m !== null);
  const structural = new Set<number>();
  for (const m of moments) {
    structural.add(m.map.id);
    for (const k of MOMENTS) structural.add(m.windows[k].id);
    structural.add(m.square.x.id).add(m.square.y.id).add(m.cross.id);
  }
  const top = topoOrder([vg.loss], false);
  const blocks = top.filter((n): n is BlockNode => n.kind === 'block');
  const inner = new Set<number>();
  for (const b of blocks) {
    const own = new Set(topoOrder([b.x, b.y], true).map((n) => n.id));
    for (const n of topoOrder([b.expanded], true)) if (!own.has(n.id)) inner.add(n.id);
  }
  const lossBlocks = blocks.filter((b) => b.reduce === 'loss').map((b) => {
    const region = b.parts.region!;
    const reduce = topoOrder([b.expanded], true).find((n): n is ReduceNode => n.kind === 'reduce' && n.arg.id === region.id)!;
    const crop = region.kind === 'linear' && region.spec.kind === 'crop' ? region : null;
    return { block: b, reduce, region, crop };
  });
  const outer = top.filter((n) => n.kind !== 'block' && !structural.has(n.id));
  /** Which nodes depend on an image when the edges `cut` says are left out. */
  const dependence = (cut: (n: FieldNode, a: FieldNode) => boolean): Map<number, boolean> => {
    const dep = new Map<number, boolean>();
    for (const n of top) {
      if (n.kind === 'input') dep.set(n.id, n.name === 'x' || n.name === 'y');
      else dep.set(n.id, argsOf(n).some((a) => !cut(n, a) && dep.get(a.id) === true));
    }
    return dep;
  };
  const depOf = dependence(() => false);
  const dependsOn = (n: FieldNode): boolean => depOf.get(n.id) === true;
  const depends = (cut: (n: FieldNode, a: FieldNode) => boolean): boolean => dependence(cut).get(vg.loss.id) === true;
  const windows = new Set<LinearNode>(moments.flatMap((m) => MOMENTS.map((k) => m.windows[k])));
  return {
    vg,
    ssimOutputs: !namedInOutputs(vg.variant.decl),
    name: vg.variant.decl.name,
    moments,
    windows,
    lossBlocks,
    inner,
    outerMaps: outer.filter((n): n is MapNode => n.kind === 'map' && dependsOn(n)),
    outerLinear: outer.filter((n): n is LinearNode => n.kind === 'linear' && dependsOn(n)),
    outerReduces: outer.filter((n): n is ReduceNode => n.kind === 'reduce' && dependsOn(n)),
    depends,
  };
}

/** Whether argument v of map m depends on an image (a mask does not). */
export function dependsThrough(m: MapNode, v: string): boolean {
  return topoOrder([m.args[v]!], false).some((n) => n.kind === 'input' && (n.name === 'x' || n.name === 'y'));
}

/** The context's graph taken apart: the variant pieces' own graph where the context has them (built once per check). */
export const anatomy = (ctx: MistakeContext): Anatomy => memo(ctx, 'anatomy', () => anatomyOf(ctx.tile?.graph ?? ctx.pieces?.graph ?? variantGraph(ctx.x, ctx.y, optionsOf(ctx))));

/** A node's shape in the whole images' graph (its own unless the context is a pinned tile). */
export const wholeShapeOf = (ctx: MistakeContext, n: FieldNode): Shape4 => ctx.tile?.wholeShape(n) ?? n.shape;
