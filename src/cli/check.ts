/**
 * The checker's commands, registered into the CLI by src/cli.ts:
 *   check CAND X Y          is a hand-written gradient right beyond rounding, and if not, what is wrong
 *   trace X Y --pixel ...   how the exact gradient at one pixel comes about
 *   check-formula EXPR      is a claimed pointwise partial of S right
 * The checker (with fast-check, pngjs and tsx) loads only when one of these commands runs.
 */
import type { Command } from './args.js';
import type { CheckResult } from '../check/schema.js';
import type { FormulaResult } from '../check/formula.js';
import type { HeatmapInfo } from '../check/heatmap.js';
import { timeoutSeconds } from './isolate.js';
import { InputError, shape4, type Tensor } from '../field/index.js';
import { progressBar, type ProgressOptions, type ProgressStream } from './progress.js';
import { SSIM_OPTION_SPECS, VARIANT_OPTION_SPECS, number, variantOptionsFrom, type OptionSpec, type Parsed } from './args.js';
import { resolveOptions } from '../model/options.js';
import { checkVariantOptions, evaluateVariant, type VariantOptions } from '../runtime/variants.js';
import { imagesAndOptions } from './images.js';
import { bySsimKernels } from '../variants/registry.js';

const JSON_SPEC: OptionSpec = { value: false, help: 'print one JSON object' };
const WRT_SPEC: OptionSpec = { value: true, help: 'the gradient with respect to x or y', default: 'x' };
const TIMEOUT_SPEC: OptionSpec = { value: true, help: 'seconds a candidate module may take to load and return before it is stopped (exit 2)', default: '60' };

/** --timeout in seconds (one rule with a --variant-file's: src/cli/isolate.ts). */
const timeoutOf = (parsed: Parsed): number => timeoutSeconds(parsed.values.get('timeout'));

/** What a candidate module is handed, for check --help. */
const CANDIDATE_HELP = [
  'A candidate module exports gradient(x, y, options) and returns {shape, data} with X\'s shape:',
  '  x, y     the images as stored in the files: {shape, data}, shape HW, CHW or NCHW as given (a PNG is C,H,W,',
  '           values in [0, 1]), data a Float64Array (a Float32Array for a float32 .npy), C order',
  '  options  every SSIM option filled from the preset (preset, window, size, sigma, k1, k2, dataRange, padding,',
  '           sampleCovariance, crop, skipShortAxes, downsample, reduction), the variant and its options when',
  '           --variant is given, and wrt (\'x\' or \'y\'): the gradient asked for',
  '  return   d value / d wrt: the gradient of the SSIM value itself (or the variant\'s value), d ssim, not of a loss 1 - ssim',
  'It runs in a child process: its stdout and stderr are kept out of ours; process.exit or a crash before it returns,',
  'a throw or rejection (also after returning), a promise that never settles, or --timeout exceeded is exit 2.',
  'With --jvp, CAND is a JVP: a .npy holding one number, or a module exporting jvp(x, y, dx, dy, options) that returns',
  '  d value in the direction (dx, dy) as a number (dy is null without --dy); with --hvp, an HVP: a .npy with X\'s shape, or a',
  '  module exporting hvp(x, y, v, options) that returns the Hessian of the value over options.wrt times v, with X\'s shape.',
  '  Both run isolated as gradient() does; the floor is the exact JVP or HVP in float32 arithmetic against float64.',
].join('\n');

function wrtOf(parsed: Parsed): 'x' | 'y' {
  const wrt = parsed.values.get('wrt') ?? 'x';
  if (wrt !== 'x' && wrt !== 'y') throw new InputError(`--wrt: got '${wrt}', expected x or y`);
  return wrt;
}

/** X Y and the options, after `lead` leading positionals (check's CAND). */
function imagesAfter(parsed: Parsed, command: string, lead: number, leadNames: string) {
  const want = lead + 2;
  if (parsed.positionals.length !== want) {
    throw new InputError(`expected ${leadNames}${lead > 0 ? ' ' : ''}X Y (${want} arguments), got ${parsed.positionals.length} (${parsed.positionals.join(' ') || 'none'})`);
  }
  const r = imagesAndOptions({ ...parsed, positionals: parsed.positionals.slice(lead) }, command);
  // the variant's options over the SSIM ones (the data range filled from uint8 images kept)
  return { ...r, options: { ...variantOptionsFrom(parsed, r.x, r.options.dataRange), ...r.options } };
}

/**
 * Runs the candidate; when it is refused (a NaN in what it returned, say), and SSIM or the variant's
 * value is itself not finite on these inputs, the refusal names that cause instead (flat images with
 * --k1 0 --k2 0: a correct candidate returns NaN there too). The value is computed only then.
 */
async function candidateOrCause<T>(load: () => Promise<T>, x: Tensor, y: Tensor, options: VariantOptions): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const { ssim } = await import('../runtime/index.js');
    // the library refuses a value that is not finite with its cause (NonFiniteError, told by the files' names)
    if (bySsimKernels(options.variant)) ssim(x, y, options);
    else evaluateVariant(x, y, options);
    throw e;
  }
}

/** Where check draws its progress bar, and when (a terminal only; tests replace it with setProgress). */
let progress: { stream: ProgressStream; options: ProgressOptions } = { stream: process.stderr, options: {} };

/** Redirects check's progress bar (tests: a fake terminal, no delay); returns the previous setting. */
export function setProgress(stream: ProgressStream, options: ProgressOptions = {}): { stream: ProgressStream; options: ProgressOptions } {
  const old = progress;
  progress = { stream, options };
  return old;
}

/** check, trace and check-formula, by name. */
export const checkCommands: Record<string, Command> = {
  check: {
    usage:
      'ssim-grad check CAND X Y [options] [--variant V | --variant-file FILE] [its options] [--wrt x|y] [--timeout S] [--json] [--heatmap FILE.png]\n' +
      '  ssim-grad check --jvp CAND X Y --dx DX [--dy DY] [options] [--timeout S] [--json]\n' +
      '  ssim-grad check --hvp CAND X Y --v V [--wrt x|y] [options] [--timeout S] [--json]',
    summary:
      "check a gradient (CAND: .npy with X's shape, or a .ts/.js module exporting gradient(x, y, options)) against the exact one; " +
      'with --jvp a JVP (one number, or jvp(x, y, dx, dy, options)), with --hvp an HVP (X\'s shape, or hvp(x, y, v, options)); exit 0 match, 1 mismatch or inconclusive',
    details: CANDIDATE_HELP,
    options: {
      ...SSIM_OPTION_SPECS,
      ...VARIANT_OPTION_SPECS,
      wrt: WRT_SPEC,
      timeout: TIMEOUT_SPEC,
      json: JSON_SPEC,
      heatmap: { value: true, help: 'write a PNG of |candidate - exact| per channel' },
      jvp: { value: false, help: 'CAND is a JVP, d value in the direction (--dx, --dy): one number in a .npy, or a module exporting jvp(x, y, dx, dy, options)' },
      hvp: { value: false, help: 'CAND is an HVP, the Hessian over --wrt times --v: a .npy with X\'s shape, or a module exporting hvp(x, y, v, options)' },
      dx: { value: true, help: 'with --jvp: the direction of x, a file with X\'s shape (required)' },
      dy: { value: true, help: 'with --jvp: the direction of y (default: y does not move)' },
      v: { value: true, help: 'with --hvp: the vector, over the image --wrt names, a file with X\'s shape (required)' },
    },
    async run(parsed, out) {
      if (parsed.switches.has('jvp') || parsed.switches.has('hvp')) return runForwardCheck(parsed, out);
      for (const flag of ['dx', 'dy', 'v']) {
        if (parsed.values.has(flag)) throw new InputError(`--${flag}: only with --${flag === 'v' ? 'hvp' : 'jvp'} (check without it judges a gradient)`);
      }
      const { loadCandidate } = await import('../check/candidate.js');
      const { checkGradient } = await import('../check/diagnose.js');
      const { bandOf } = await import('../check/compare.js');
      const { writeHeatmap } = await import('../check/heatmap.js');
      const { formatCheckReport } = await import('../check/report.js');
      const wrt = wrtOf(parsed);
      const timeoutS = timeoutOf(parsed);
      const heatmapPath = parsed.values.get('heatmap');
      if (heatmapPath !== undefined && !heatmapPath.toLowerCase().endsWith('.png')) {
        throw new InputError(`--heatmap: got '${heatmapPath}', expected a file name ending in .png`);
      }
      const { x, y, options } = imagesAfter(parsed, 'check', 1, 'CAND');
      const [candPath, xPath, yPath] = parsed.positionals as [string, string, string];
      // the options are judged before the candidate runs: a bad option is the user's, not the module's
      resolveOptions(options);
      checkVariantOptions(options);
      const bar = progressBar(progress.stream, progress.options);
      let result: CheckResult;
      let heatmap: { path: string; info: HeatmapInfo } | undefined;
      try {
        bar.update(0, 1, 'running the candidate');
        const cand = await candidateOrCause(() => loadCandidate(candPath, x, y, options, { wrt, timeoutS }), x, y, options);
        // a value, exact gradient or floor that is not finite is refused inside (exit 2, naming the cause and the files)
        result = checkGradient({
          x, y, options, wrt, candidate: cand.data, float32: cand.float32, names: { x: xPath, y: yPath }, progress: (d, t, what) => bar.update(d, t, what),
        });
        if (heatmapPath !== undefined) {
          bar.update(1, 1, 'heatmap');
          const shape = shape4(x, 'x');
          heatmap = { path: heatmapPath, info: writeHeatmap(heatmapPath, result.candidate, result.exact, shape, bandOf(resolveOptions(options), shape)) };
        }
      } finally {
        bar.end();
      }
      if (parsed.switches.has('json')) {
        out(JSON.stringify({ candidate: candPath, x: xPath, y: yPath, ...result.report, ...(heatmap ? { heatmap: { path: heatmap.path, ...heatmap.info } } : {}) }));
      } else {
        out(formatCheckReport(result.report, { candidate: candPath, x: xPath, y: yPath }, heatmap));
      }
      return result.report.verdict === 'match' ? 0 : 1;
    },
  },
  trace: {
    usage: 'ssim-grad trace X Y --pixel n,c,i,j [options] [--variant V | --variant-file FILE] [its options] [--wrt x|y] [--candidate CAND [--timeout S]] [--json]',
    summary: 'show how the exact gradient at one pixel comes about: its three terms and the map pixels that contribute most',
    options: {
      ...SSIM_OPTION_SPECS,
      ...VARIANT_OPTION_SPECS,
      pixel: { value: true, help: 'the pixel n,c,i,j (or c,i,j / i,j for CHW / HW images), 0-based (required)' },
      wrt: WRT_SPEC,
      candidate: { value: true, help: 'a candidate gradient (as for check): its value at the pixel and which term differs' },
      timeout: TIMEOUT_SPEC,
      top: { value: true, help: 'how many contributing map pixels to list', default: '8' },
      json: JSON_SPEC,
    },
    async run(parsed, out) {
      const { loadCandidate } = await import('../check/candidate.js');
      const { formatTrace, parsePixel, tracePixel } = await import('../check/trace.js');
      const wrt = wrtOf(parsed);
      const timeoutS = timeoutOf(parsed);
      const pixelArg = parsed.values.get('pixel');
      if (pixelArg === undefined) throw new InputError('--pixel: required, the pixel n,c,i,j to trace');
      const topArg = parsed.values.get('top') ?? '8';
      const top = Number(topArg);
      if (!Number.isInteger(top) || top < 1) throw new InputError(`--top: got '${topArg}', expected an integer >= 1`);
      const { x, y, options } = imagesAfter(parsed, 'trace', 0, '');
      const pixel = parsePixel(pixelArg, x.shape);
      // the files' names for a refusal of a result that is not finite (exit 2, as value and grad)
      const names = { x: parsed.positionals[0]!, y: parsed.positionals[1]! };
      const candPath = parsed.values.get('candidate');
      let candidate: { path: string; data: Float64Array; float32: boolean } | undefined;
      if (candPath !== undefined) {
        const c = await candidateOrCause(() => loadCandidate(candPath, x, y, options, { wrt, timeoutS }), x, y, options);
        candidate = { path: candPath, data: c.data, float32: c.float32 };
      }
      if (!bySsimKernels(options.variant)) {
        const { formatVariantTrace, traceVariantPixel } = await import('../check/variant-trace.js');
        const t = traceVariantPixel({ x, y, options, wrt, pixel, top, candidate, names });
        out(parsed.switches.has('json') ? JSON.stringify(t) : formatVariantTrace(t));
        return 0;
      }
      const t = tracePixel({ x, y, options, wrt, pixel, top, candidate, names });
      out(parsed.switches.has('json') ? JSON.stringify(t) : formatTrace(t));
      return 0;
    },
  },
  'check-formula': {
    usage: 'ssim-grad check-formula "EXPR" --wrt VAR [--params raw|central] [--sample-covariance] [--runs N] [--json]',
    summary:
      'check a claimed partial of S (mathjs syntax over mu_x, mu_y, m_xx, m_yy, m_xy or var_x, var_y, cov, with C1, C2 and the shorthands ' +
      'A1, B1, A2, B2, l, cs, S) against the symbolic one at random statistics; exit 0 right, 1 wrong',
    options: {
      wrt: { value: true, help: 'the variable the claimed partial is with respect to (required)' },
      params: { value: true, help: 'what is held fixed: raw (mu_x, mu_y, m_xx, m_yy, m_xy) or central (mu_x, mu_y, var_x, var_y, cov)', default: 'central for var_x, var_y, cov; raw otherwise' },
      'sample-covariance': { value: false, help: 'var and cov carry c_n = NP/(NP-1), NP = size^2' },
      size: { value: true, help: 'window size for the sample-covariance factor', default: '7' },
      runs: { value: true, help: 'how many random points', default: '1000' },
      seed: { value: true, help: 'fast-check seed (for a reproducible run)' },
      json: JSON_SPEC,
    },
    async run(parsed, out) {
      const { checkFormula, formatFormulaResult } = await import('../check/formula.js');
      if (parsed.positionals.length !== 1) {
        throw new InputError(`expected one expression in quotes, got ${parsed.positionals.length} arguments (${parsed.positionals.join(' ') || 'none'})`);
      }
      const wrt = parsed.values.get('wrt');
      if (wrt === undefined) throw new InputError('--wrt: required, the variable the partial is with respect to');
      const int = (name: string, min: number): number | undefined => {
        const v = parsed.values.get(name);
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new InputError(`--${name}: got '${v}', expected an integer >= ${min}`);
        return n;
      };
      const params = parsed.values.get('params');
      if (params !== undefined && params !== 'raw' && params !== 'central') throw new InputError(`--params: got '${params}', expected raw or central`);
      const size = int('size', 2) ?? 7;
      const r = checkFormula(parsed.positionals[0]!, wrt, {
        params,
        sampleCovarianceNP: parsed.switches.has('sample-covariance') ? size * size : undefined,
        runs: int('runs', 1) ?? 1000,
        seed: int('seed', -(2 ** 31)),
      });
      out(parsed.switches.has('json') ? JSON.stringify(formulaJson(r)) : formatFormulaResult(r));
      return r.ok ? 0 : 1;
    },
  },
};

/** A direction file (--dx, --dy, --v): finite values with X's shape. */
async function directionFile(parsed: Parsed, flag: string, x: Tensor, xPath: string): Promise<Tensor | null> {
  const path = parsed.values.get(flag);
  if (path === undefined) return null;
  const { readTensor } = await import('../io/index.js');
  let t: Tensor;
  try {
    t = readTensor(path);
  } catch (e) {
    // the loader's message names the file; the flag it came from is named too
    if (e instanceof InputError) throw new InputError(`--${flag}: ${e.message}`);
    throw e;
  }
  const i = t.data.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) throw new InputError(`--${flag} ${path}: value at flat index ${i} is ${t.data[i]}, expected a finite number`);
  if (t.shape.join() !== x.shape.join()) throw new InputError(`--${flag} ${path}: shape [${t.shape.join(', ')}] differs from ${xPath}'s shape [${x.shape.join(', ')}]`);
  return t;
}

/** check --jvp and check --hvp: a candidate JVP or HVP against the exact one (src/check/forward-check.ts). */
async function runForwardCheck(parsed: Parsed, out: (s: string) => void): Promise<number> {
  const jvp = parsed.switches.has('jvp');
  if (jvp && parsed.switches.has('hvp')) throw new InputError('--jvp and --hvp: give one (the candidate is a JVP or an HVP)');
  const mode = jvp ? 'jvp' : 'hvp';
  if (parsed.values.has('heatmap')) throw new InputError(`--heatmap: not with --${mode}`);
  if (jvp && parsed.values.has('wrt')) throw new InputError('--wrt: not with --jvp (the direction is --dx and --dy)');
  if (jvp && parsed.values.has('v')) throw new InputError('--v: with --hvp; a JVP\'s direction is --dx and --dy');
  if (!jvp && (parsed.values.has('dx') || parsed.values.has('dy'))) throw new InputError(`--${parsed.values.has('dx') ? 'dx' : 'dy'}: with --jvp; an HVP's vector is --v`);
  const wrt = wrtOf(parsed);
  const timeoutS = timeoutOf(parsed);
  const { x, y, options } = imagesAfter(parsed, 'check', 1, 'CAND');
  const [candPath, xPath, yPath] = parsed.positionals as [string, string, string];
  resolveOptions(options);
  checkVariantOptions(options);
  const { loadHvpCandidate, loadJvpCandidate } = await import('../check/candidate.js');
  const { checkHvp, checkJvp } = await import('../check/forward-check.js');
  const { formatForwardReport } = await import('../check/report.js');
  let report;
  let directions: string;
  if (jvp) {
    const dx = await directionFile(parsed, 'dx', x, xPath);
    if (dx === null) throw new InputError('--dx: required with --jvp, the direction of x (a file with X\'s shape)');
    const dy = await directionFile(parsed, 'dy', x, xPath);
    directions = `(${parsed.values.get('dx')}, ${parsed.values.get('dy') ?? '0'})`;
    const c = await candidateOrCause(() => loadJvpCandidate(candPath, x, y, dx, dy, options, { timeoutS }), x, y, options);
    report = checkJvp({ x, y, options, dx, dy, candidate: c.value, float32: c.float32 }).report;
  } else {
    const v = await directionFile(parsed, 'v', x, xPath);
    if (v === null) throw new InputError(`--v: required with --hvp, the vector (a file with X's shape, over ${wrt})`);
    directions = parsed.values.get('v')!;
    const c = await candidateOrCause(() => loadHvpCandidate(candPath, x, y, v, options, { wrt, timeoutS }), x, y, options);
    report = checkHvp({ x, y, options, wrt, v, candidate: c.data, float32: c.float32 }).report;
  }
  if (parsed.switches.has('json')) out(JSON.stringify({ candidate: candPath, x: xPath, y: yPath, ...(jvp ? { dx: parsed.values.get('dx'), dy: parsed.values.get('dy') ?? null } : { v: directions }), ...report }));
  else out(formatForwardReport(report, { candidate: candPath, x: xPath, y: yPath, directions }));
  return report.verdict === 'match' ? 0 : 1;
}

/**
 * check-formula's JSON: a claim may evaluate to Infinity or NaN where it is wrong, which JSON would
 * print as null; such a value is left out of `claimed` and spelt in `claimedValue` ("Infinity").
 */
function formulaJson(r: FormulaResult): unknown {
  const c = r.counterexample;
  if (c === undefined || Number.isFinite(c.claimed)) return r;
  const { claimed, ...rest } = c;
  return { ...r, counterexample: { ...rest, claimedValue: String(claimed) } };
}
