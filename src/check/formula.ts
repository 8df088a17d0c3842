/**
 * Checking a claimed pointwise partial of S against the symbolic one, at random realistic
 * statistics (fast-check, shrunk to a simple counterexample on failure).
 *
 * What a partial means depends on what is held fixed. S can be written over the raw moments
 * (mu_x, mu_y, m_xx, m_yy, m_xy), the windowed means of x, y, x^2, y^2, xy, which are linear in
 * the pixels, so these are the partials the chain rule to the pixels uses (g_mu, g_xx, g_xy).
 * Or over the central statistics (mu_x, mu_y, var_x, var_y, cov), as derivations on paper
 * usually are. dS/dvar_x means the second: S over (mu_x, mu_y, var_x, var_y, cov) with the other
 * four fixed. dS/dmu_x differs between the two (raw: var_x and cov move with mu_x), and --params
 * says which is meant; the default is raw, the one a gradient needs.
 *
 * Values are compared to 1e-9 relative, plus 1e-14 of the magnitude of the terms they sum (so
 * that a partial that cancels to about 0 is judged by what rounding leaves of its terms).
 *
 * Either way the expression may use any of the variables: var_x stands for c_n (m_xx - mu_x^2),
 * m_xx for var_x / c_n + mu_x^2, and so on, evaluated consistently at each point.
 */
import fc from 'fast-check';
import { ratio } from './stable.js';
import type { MathNode } from 'mathjs';
import { diff, evaluate, toInfix, topoSort, variable, variablesOf, type Node } from '../expr/index.js';
import { ExprParseError, fromMathjs, parseMathjs } from '../expr/mathjs.js';
import { rules } from '../expr/ops.js';
import { InputError } from '../field/index.js';
import { MAX_WINDOW_SIZE, pointwiseSsim } from '../runtime/index.js';
import { centralSsim } from '../mistakes/central.js';

const RAW = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const;
const CENTRAL = ['mu_x', 'mu_y', 'var_x', 'var_y', 'cov'] as const;
const CONSTANTS = ['C1', 'C2'] as const;
/** Named intermediates a claim may use: A1 = 2 mu_x mu_y + C1, B1 = mu_x^2 + mu_y^2 + C1, A2 = 2 cov + C2, B2 = var_x + var_y + C2, l = A1/B1, cs = A2/B2, S = l cs. */
const SHORTHANDS = ['A1', 'B1', 'A2', 'B2', 'l', 'cs', 'S'] as const;

/** Every variable a claimed partial may use. */
export const FORMULA_VARIABLES: readonly string[] = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy', 'var_x', 'var_y', 'cov', 'C1', 'C2', ...SHORTHANDS];

/** The constants at every point: the usual k1 = 0.01, k2 = 0.03 with data range 1. */
const C1 = 1e-4;
const C2 = 9e-4;

/** Relative tolerance of the comparison. */
export const FORMULA_TOLERANCE = 1e-9;

/**
 * Allowance for cancellation, relative to the magnitude of the terms a value is a sum of: a
 * few dozen double roundings of those terms, so that a partial that is 0 up to rounding of
 * 1e4-sized terms is not a difference.
 */
const CANCELLATION = 1e-14;

/**
 * The magnitude of the terms an expression sums: evaluated with every sum's arguments taken
 * by absolute value (products likewise); any other operation contributes its own |value|.
 */
function termMagnitude(n: Node, env: Readonly<Record<string, number>>): number {
  const value = new Map<number, number>();
  const mag = new Map<number, number>();
  for (const node of topoSort([n])) {
    const args = node.args.map((a) => value.get(a.id)!);
    const v = node.op === 'var' ? env[node.name!]! : rules[node.op].evaluate(node, args);
    value.set(node.id, v);
    const m = node.args.map((a) => mag.get(a.id)!);
    mag.set(node.id, node.op === 'add' ? m.reduce((s, x) => s + x, 0) : node.op === 'mul' ? m.reduce((p, x) => p * x, 1) : Math.abs(v));
  }
  return mag.get(n.id)!;
}

/** The keys of FormulaOptions. */
const FORMULA_OPTION_KEYS: readonly string[] = ['params', 'sampleCovarianceNP', 'runs', 'seed'];

export interface FormulaOptions {
  /** 'raw' or 'central' (what is held fixed); by default central for var_x, var_y, cov, raw otherwise. */
  readonly params?: string;
  /** NP for the sample-covariance factor c_n = NP/(NP-1); absent: c_n = 1. */
  readonly sampleCovarianceNP?: number;
  readonly runs?: number;
  readonly seed?: number;
}

/** check-formula's verdict on a claimed pointwise partial: the claim against the exact one at sample points. */
export interface FormulaResult {
  readonly ok: boolean;
  readonly expression: string;
  readonly wrt: string;
  readonly params: 'raw' | 'central';
  /** The variables held fixed. */
  readonly held: readonly string[];
  readonly c_n: number;
  readonly runs: number;
  readonly tolerance: number;
  /** The symbolic partial, in mathjs syntax over the parameterisation's variables. */
  readonly symbolic: string;
  /**
   * Where the claim is wrong. `claimed` is the claim's value there, which may be Infinity or NaN (a
   * claim of 1/0: with --json it is then left out and `claimedValue` spells it, "Infinity", "-Infinity"
   * or "NaN"); `relativeError` is always finite (at most float64's largest number).
   */
  readonly counterexample?: {
    readonly point: Readonly<Record<string, number>>;
    readonly claimed: number;
    readonly symbolic: number;
    readonly relativeError: number;
  };
}

/** An integer-based uniform double: fc.double is uniform over bit patterns, which crowds zero. */
const uniform = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: 2 ** 30 }).map((i) => min + ((max - min) * i) / 2 ** 30);

/** Realistic window statistics: means in [0, 1], standard deviations in [0, 0.5], |correlation| <= 1. */
const statistics = fc.record({
  mu_x: uniform(0, 1),
  mu_y: uniform(0, 1),
  sd_x: uniform(0, 0.5),
  sd_y: uniform(0, 0.5),
  rho: uniform(-1, 1),
});

type Point = { mu_x: number; mu_y: number; sd_x: number; sd_y: number; rho: number };

/**
 * Every variable's value at a point. The parameterisation's own variables come first and the
 * others are computed from them as the graph computes them (var_x = c_n (m_xx - mu_x^2) under
 * raw), so that a claim over either set is evaluated at the very point S is.
 */
function environment(p: Point, c_n: number, params: 'raw' | 'central'): Record<string, number> {
  let var_x = p.sd_x * p.sd_x;
  let var_y = p.sd_y * p.sd_y;
  let cov = p.rho * p.sd_x * p.sd_y;
  const m_xx = var_x / c_n + p.mu_x * p.mu_x;
  const m_yy = var_y / c_n + p.mu_y * p.mu_y;
  const m_xy = cov / c_n + p.mu_x * p.mu_y;
  if (params === 'raw') {
    var_x = c_n * (m_xx - p.mu_x * p.mu_x);
    var_y = c_n * (m_yy - p.mu_y * p.mu_y);
    cov = c_n * (m_xy - p.mu_x * p.mu_y);
  }
  const A1 = 2 * p.mu_x * p.mu_y + C1;
  const B1 = p.mu_x * p.mu_x + p.mu_y * p.mu_y + C1;
  const A2 = 2 * cov + C2;
  const B2 = var_x + var_y + C2;
  return {
    mu_x: p.mu_x, mu_y: p.mu_y, var_x, var_y, cov, m_xx, m_yy, m_xy,
    C1, C2, c_n, A1, B1, A2, B2, l: A1 / B1, cs: A2 / B2, S: (A1 * A2) / (B1 * B2),
  };
}

/**
 * The largest claim, in characters: several times the longest symbolic partial of S written out
 * (d S / d mu_x over the raw moments prints in about 570), and small enough that checking it at
 * a thousand points takes well under a second.
 */
export const MAX_FORMULA_LENGTH = 4000;

/** The most random points a check takes (about a second per 10000). */
export const MAX_FORMULA_RUNS = 100_000;

/** The deepest nesting of a claim's parse tree (a sum of n terms nests n deep): the converter recurses this deep. */
export const MAX_FORMULA_DEPTH = 500;

/** Brackets nested deeper than this make mathjs's parser itself recurse out of stack (about 500 do). */
const MAX_BRACKET_DEPTH = 100;

/**
 * The claim parsed by mathjs, refused with a message naming EXPR when it is too long or nested too
 * deep to convert and check in bounded time and stack.
 */
function boundedTree(expression: string): MathNode {
  if (typeof expression !== 'string') throw new InputError(`EXPR: got ${expression === null ? 'null' : `${String(expression)} (a ${typeof expression})`}, expected a formula as a string`);
  if (expression.length > MAX_FORMULA_LENGTH) {
    throw new InputError(`EXPR: ${expression.length} characters, expected at most ${MAX_FORMULA_LENGTH} (a partial of S written out is a few hundred; name repeated parts with A1, B1, A2, B2, l, cs, S)`);
  }
  let depth = 0;
  let deepest = 0;
  for (const ch of expression) {
    if (ch === '(' || ch === '[' || ch === '{') deepest = Math.max(deepest, ++depth);
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
  }
  if (deepest > MAX_BRACKET_DEPTH) throw new InputError(`EXPR: brackets nested ${deepest} deep, expected at most ${MAX_BRACKET_DEPTH}`);
  let tree: MathNode;
  try {
    tree = parseMathjs(expression);
  } catch (e) {
    if (e instanceof ExprParseError) throw new InputError(`EXPR: ${e.message}`);
    throw e;
  }
  // the tree's depth without recursion: the converter that follows recurses once per level
  const stack: Array<[MathNode, number]> = [[tree, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (d > MAX_FORMULA_DEPTH) throw new InputError(`EXPR: nested ${MAX_FORMULA_DEPTH}+ levels deep (a sum or product of that many terms, or a chain of operators), expected at most ${MAX_FORMULA_DEPTH}`);
    n.forEach((child) => stack.push([child, d + 1]));
  }
  return tree;
}

/** Checks `expression` as d S / d `wrt`. Bad input (syntax, unknown names, a bad --wrt) throws InputError. */
export function checkFormula(expression: string, wrt: string, options: FormulaOptions = {}): FormulaResult {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new InputError(`options: got ${String(options)}, expected an object { params, sampleCovarianceNP, runs, seed }`);
  const unknownKey = Object.keys(options).find((k) => !FORMULA_OPTION_KEYS.includes(k));
  if (unknownKey !== undefined) throw new InputError(`options: unknown key '${unknownKey}', expected one of ${FORMULA_OPTION_KEYS.join(', ')}`);
  const { runs: givenRuns, sampleCovarianceNP: NP } = options;
  if (givenRuns !== undefined && !(Number.isInteger(givenRuns) && givenRuns >= 1 && givenRuns <= MAX_FORMULA_RUNS)) {
    throw new InputError(`--runs: got ${String(givenRuns)}, expected an integer from 1 to ${MAX_FORMULA_RUNS}`);
  }
  if (NP !== undefined && !(Number.isInteger(NP) && NP >= 2 && NP <= MAX_WINDOW_SIZE ** 2)) {
    throw new InputError(`--size: NP = size^2 = ${String(NP)}, expected a window of 2 to ${MAX_WINDOW_SIZE} (NP from 4 to ${MAX_WINDOW_SIZE ** 2})`);
  }
  let claim: Node;
  try {
    claim = fromMathjs(boundedTree(expression));
  } catch (e) {
    if (e instanceof ExprParseError) throw new InputError(`EXPR: ${e.message}`);
    throw e;
  }
  const unknown = variablesOf([claim]).filter((v) => !FORMULA_VARIABLES.includes(v));
  if (unknown.length > 0) {
    throw new InputError(`EXPR: unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.map((v) => `'${v}'`).join(', ')}, expected ${FORMULA_VARIABLES.join(', ')}`);
  }
  const wrtChoices = [...new Set<string>([...RAW, ...CENTRAL, ...CONSTANTS])];
  if (!wrtChoices.includes(wrt)) throw new InputError(`--wrt: got '${wrt}', expected one of ${wrtChoices.join(', ')}`);
  const isCentralOnly = (CENTRAL as readonly string[]).includes(wrt) && !(RAW as readonly string[]).includes(wrt);
  const isRawOnly = (RAW as readonly string[]).includes(wrt) && !(CENTRAL as readonly string[]).includes(wrt);
  const params = (options.params ?? (isCentralOnly ? 'central' : 'raw')) as 'raw' | 'central';
  if (params === 'raw' && isCentralOnly) throw new InputError(`--params: raw holds the raw moments fixed, so ${wrt} is not one of its variables (use --params central)`);
  if (params === 'central' && isRawOnly) throw new InputError(`--params: central holds var_x, var_y, cov fixed, so ${wrt} is not one of its variables (use --params raw)`);
  const c_n = options.sampleCovarianceNP !== undefined ? options.sampleCovarianceNP / (options.sampleCovarianceNP - 1) : 1;
  const S = params === 'raw' ? pointwiseSsim().S : centralSsim().S;
  const truth = diff(S, variable(wrt));
  const base = params === 'raw' ? RAW : CENTRAL;
  const held = [...base, ...CONSTANTS].filter((v) => v !== wrt);

  const compare = (p: Point) => {
    const env = environment(p, c_n, params);
    const claimed = evaluate(claim, env);
    const symbolic = evaluate(truth, env);
    const err = Math.abs(claimed - symbolic);
    // where the partial cancels to about 0 (dS/dC1 at mu_x = mu_y), rounding of its terms is all that is left
    const terms = Math.max(termMagnitude(claim, env), termMagnitude(truth, env));
    // a claim is right only where it is finite (the symbolic partial is: B1, B2 >= C1, C2 > 0) and within
    // tolerance; Infinity <= Infinity and NaN must not pass, nor a cancellation allowance that overflowed
    const ok = Number.isFinite(claimed) && Number.isFinite(symbolic) && Number.isFinite(terms) &&
      err <= FORMULA_TOLERANCE * Math.max(Math.abs(symbolic), Math.abs(claimed)) + CANCELLATION * terms;
    // a claim that is not finite (or overflows the difference) is as far off as float64 can say: its largest number
    const relativeError = Number.isFinite(err) ? ratio(err, Math.max(Math.abs(symbolic), Number.MIN_VALUE)) : Number.MAX_VALUE;
    return { env, claimed, symbolic, relativeError, ok };
  };
  const runs = options.runs ?? 1000;
  const r = fc.check(fc.property(statistics, (p) => compare(p).ok), { numRuns: runs, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const result = { expression, wrt, params, held, c_n, runs, tolerance: FORMULA_TOLERANCE, symbolic: toInfix(truth) };
  if (!r.failed) return { ok: true, ...result };
  const p = r.counterexample![0];
  const c = compare(p);
  const point: Record<string, number> = {};
  for (const k of [...CENTRAL, 'm_xx', 'm_yy', 'm_xy', ...CONSTANTS]) point[k] = c.env[k]!;
  if (c_n !== 1) point['c_n'] = c_n;
  return { ok: false, ...result, counterexample: { point, claimed: c.claimed, symbolic: c.symbolic, relativeError: c.relativeError } };
}

/** The result as text. */
export function formatFormulaResult(r: FormulaResult): string {
  const fixed = `S written over (${(r.params === 'raw' ? RAW : CENTRAL).join(', ')}), holding ${r.held.join(', ')} fixed`;
  const lines = [`check-formula: is "${r.expression}" d S / d ${r.wrt}?`, `  ${fixed}; c_n = ${r.c_n}${r.c_n === 1 ? ' (population covariance)' : ' (sample covariance)'}`];
  if (r.ok) {
    lines.push(`RIGHT: agrees with the symbolic partial at ${r.runs} random points (relative tolerance ${r.tolerance})`);
    return lines.join('\n');
  }
  const c = r.counterexample!;
  lines.push(`WRONG: a counterexample (shrunk by fast-check):`);
  lines.push(`  ${Object.entries(c.point).map(([k, v]) => `${k} = ${v}`).join(', ')}`);
  lines.push(`  claimed  ${c.claimed}`);
  lines.push(`  symbolic ${c.symbolic}   (relative error ${c.relativeError.toExponential(2)})`);
  lines.push(`the symbolic partial: ${r.symbolic}`);
  if (r.params === 'raw' && (r.wrt === 'mu_x' || r.wrt === 'mu_y')) {
    lines.push(`(this is the raw partial the chain rule needs; with var and cov held fixed instead, use --params central)`);
  }
  return lines.join('\n');
}
