/**
 * ssim-grad's library face: the functions, declaration types and errors users call, named one by
 * one. Everything here has its TSDoc where it is declared; what the tests need from inside is
 * imported by path (src/<folder>/<file>.ts), never from here. (No test yet holds this list to the
 * README; see the closing note of issue 18.)
 */

// SSIM and its exact gradients on the generated kernels (src/runtime), its options and presets (src/model)
export { ssim, ssimGrad } from './runtime/index.js';
export { ssimFast, ssimGradFast } from './runtime/fast.js';
export type { Precision } from './field/precision.js';
export { PARALLEL_MIN_PIXELS, ssimAsync, ssimGradAsync, ssimGradFastAsync, terminateWorkers, type ParallelOptions } from './runtime/parallel.js';
export { ssimGradReference, ssimReference } from './runtime/reference.js';
export { PRESET_DEFAULTS, PRESETS, resolveOptions, validateOptions, type PresetName, type SsimConfig, type SsimOptions } from './model/options.js';
export { pointwiseSsim, type PointwiseSsim } from './model/pointwise.js';

// Variants: declarations (src/variants), evaluated through their field graph (src/runtime)
export { evaluateVariant, runVariant, type VariantOptions, type VariantResult } from './runtime/variants.js';

// Forward mode and second order through the same graph (src/graph/forward.ts, src/runtime/jvp.ts)
export {
  ssimHvp, ssimJvp, variantHvp, variantJvp,
  type HvpOptions, type HvpResult, type HvpVector, type JvpOptions, type JvpResult, type MapTangent, type SsimHvpOptions, type SsimHvpResult, type SsimJvpOptions, type SsimJvpResult,
} from './runtime/jvp.js';
export { defineVariant } from './variants/define.js';
export { findVariant, VARIANT_NAMES, type BuiltInVariantOptions, type VariantRef } from './variants/registry.js';
export { MSSSIM_WEIGHTS } from './variants/ms-ssim.js';
export { variantGraph, type VariantGraph } from './variants/evaluate.js';
export type { DocBlock, FieldValue, LossContext, OptionDeclaration, VariantDeclaration, VariantValues } from './variants/types.js';
export type { GraphKit } from './variants/kit.js';

// The field graph a loss is built of (src/graph)
export type { BlockNode, FieldNode, InputNode, LinearNode, MapNode, Reduction, ReduceNode } from './graph/node.js';
export type { Arithmetic, GraphResult } from './graph/evaluate.js';

// The checker (src/check)
export { checkGradient } from './check/diagnose.js';
export type { CheckInput, CheckReport, CheckResult, Diagnosis } from './check/schema.js';
export { formatCheckReport } from './check/report.js';
export { checkHvp, checkJvp, type ForwardCheckResult, type HvpCheckInput, type JvpCheckInput } from './check/forward-check.js';
export type { ForwardCheckReport } from './check/schema.js';
export { roundingFloor, type RoundingFloor } from './check/floor.js';
export { formatTrace, tracePixel, type TraceResult } from './check/trace.js';
export { checkFormula, formatFormulaResult, type FormulaResult } from './check/formula.js';
export type { CandidateOptions, GradientFunction } from './check/candidate.js';

// The scalar expression graph (src/expr)
export type { Node } from './expr/node.js';
export {
  abs, add, div, exp, log, max, min, mul, neg, num, pow, powv, relu, sign, sqrt, square, step, sub, variable,
} from './expr/build.js';
export { substitute } from './expr/substitute.js';
export { evaluate, evaluateVec, type Env } from './expr/eval.js';
export { diff, grad, jacobian, vjp } from './expr/grad.js';
export { toInfix } from './expr/print.js';
export { toLatex } from './expr/latex.js';
export { ExprParseError, fromMathjs, parseMathjs, toMathjs } from './expr/mathjs.js';

// Tensors, files and errors (src/field, src/io, src/model)
export { InputError, type Tensor } from './field/tensor.js';
export type { Boundary } from './field/axis.js';
export { NonFiniteError } from './model/finite.js';
export { formatNpy, parseNpy, type LoadedTensor } from './io/npy.js';
export { readTensor, writeNpy } from './io/files.js';
