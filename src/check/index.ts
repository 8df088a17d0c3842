/**
 * The derivation checker: is a hand-written SSIM gradient right beyond rounding, and if not,
 * what mistake was made; how the exact gradient at one pixel comes about; is a claimed
 * pointwise partial right.
 */
export { axisWeight, windowAxes, type WindowAxes } from './axes.js';
export {
  DEFAULT_CANDIDATE_TIMEOUT_S, fullOptions, loadCandidate, runCandidateModule,
  type CandidateOptions, type CandidateRun, type GradientFunction, type LoadedCandidate,
} from './candidate.js';
export { centralSsim, type CentralSsim } from '../mistakes/central.js';
export { inBand, regionErrors, scaleFit, termFit, type ErrorStats, type RegionErrors, type ScaleFit, type TermFit } from './compare.js';
export {
  bandOf, borderBand, checkGradient, FLOAT32_MISTAKE_TOLERANCE,
  type CheckInput, type CheckProgress, type CheckReport, type CheckResult, type Diagnosis, type MistakeDistance, type SubsampleReport,
} from './diagnose.js';
export { differenceNorms, FLOAT32_TRUE_MIN, FLOOR_ALLOWANCE, floorOf, norm2, roundingFloor, type RoundingFloor } from './floor.js';
export { checkFormula, FORMULA_TOLERANCE, FORMULA_VARIABLES, formatFormulaResult, MAX_FORMULA_DEPTH, MAX_FORMULA_LENGTH, type FormulaOptions, type FormulaResult } from './formula.js';
export { inferno, renderHeatmap, writeHeatmap, type HeatmapInfo } from './heatmap.js';
export { applicableMistakes, distinctMistakes, mistakesFor, variantMistakes } from '../mistakes/assemble.js';
export { exactFromCentral } from '../mistakes/central.js';
export { type KnownMistake, type MistakeContext, type WholeCounts } from '../mistakes/context.js';
export { KNOWN_MISTAKES } from '../mistakes/ssim.js';
export { planSubsample, SUBSAMPLE_DEFAULTS, SUBSAMPLED_VARIANTS, type Strip, type SubsampleOptions, type SubsamplePlan } from './subsample.js';
export { formatCheckReport, type ReportNames } from './report.js';
export { formatTrace, parsePixel, tracePixel, type Contribution, type TraceInput, type TraceResult } from './trace.js';
export { variantGradient32, variantPieces, type VariantPieces } from './variant-model.js';
export { formatVariantTrace, traceVariantPixel, type ScaleContribution, type VariantTraceResult } from './variant-trace.js';
