/** ssim-grad's library face. */
export * from './expr/index.js';
export * from './field/index.js';
export * from './runtime/index.js';
export * from './io/index.js';
export * from './check/index.js';

// Variants as declarations (src/variants): a user's is written as the built-ins are, with
// defineVariant, and evaluateVariant(x, y, { variant: declaration, variantOptions }) runs it.
export { defineVariant, flagOf } from './variants/define.js';
export { BUILT_IN_VARIANTS, findVariant, resolveVariant, VARIANT_NAMES, variantName, type ResolvedVariant, type VariantRef } from './variants/registry.js';
export { variantGraph, type VariantGraph, type VariantInput } from './variants/evaluate.js';
export { runVariant } from './runtime/variants.js';
export type { DocBlock, FieldValue, LossContext, OptionDeclaration, VariantDeclaration, VariantValues } from './variants/types.js';
export type { GraphKit } from './variants/kit.js';
// The field-level graph a loss is built of (src/graph), and its evaluation.
export type { BlockMap, BlockNode, FieldNode, InputNode, LinearNode, MapNode, Reduction, ReduceNode } from './graph/node.js';
export type { WindowedMapSpec } from './graph/ssim.js';
export type { MapGraph } from './model/maps.js';
export { evaluateGraph, type Arithmetic, type EvaluateOptions, type GraphResult } from './graph/evaluate.js';
