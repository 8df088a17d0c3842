/**
 * Loading a candidate gradient: a tensor file (.npy, .json) with X's shape, or a JavaScript or
 * TypeScript module exporting `gradient(x, y, options)`. Every way it can be wrong is an
 * InputError naming the file (exit code 2).
 *
 * A module runs isolated, in a child process (candidate-child.mjs): its stdout and stderr never
 * reach ours (a short tail appears in the message when it fails), `process.exit` or a crash before
 * it returns is an error, not a result, and a timeout stops it. Whenever it ends (a result, an
 * error, a timeout, our exit, SIGINT, SIGTERM, SIGHUP) everything it started is stopped, also a
 * process in a session of its own (see ProcessTree), and its temporary folder is removed.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type Tensor } from '../field/index.js';
import { readTensor } from '../io/index.js';
import { removeOnCleanup } from '../io/cleanup.js';
import { checkValues } from './candidate-values.js';
import { spawnSupervised, Tail, tailNote, type Supervised } from '../io/process-tree.js';
import { resolveOptions, type VariantOptions } from '../runtime/index.js';
import { findVariant, namedInOutputs } from '../variants/registry.js';

/** A candidate as the checker takes it. */
export interface LoadedCandidate {
  readonly data: Float64Array;
  /** Stored or returned as float32 (a float32 .npy, or a Float32Array from the module). */
  readonly float32: boolean;
  readonly source: 'file' | 'module';
}

/**
 * The options a candidate module receives: every SSIM option filled from the preset, the variant
 * and its options when one is checked, and `wrt`, the image the gradient is taken with respect to
 * (the gradient of the SSIM value itself, d ssim, not of a loss 1 - ssim).
 */
export type CandidateOptions = VariantOptions & { readonly wrt: 'x' | 'y' };

/**
 * The module interface a candidate implements: x and y as stored (shape HW, CHW or NCHW as in the
 * files, Float64Array, or Float32Array for a float32 .npy), returning d value/d wrt with X's shape.
 */
export type GradientFunction = (x: Tensor, y: Tensor, options: CandidateOptions) => Tensor | { shape: readonly number[]; data: ArrayLike<number> } | Promise<unknown>;

/** How a candidate module is run. */
export interface CandidateRun {
  /** Seconds the module may take to load and return (default 60); the child is then killed. */
  readonly timeoutS?: number;
  /** The gradient asked for, passed to the module in its options (default 'x'). */
  readonly wrt?: 'x' | 'y';
}

/** The default of --timeout, in seconds. */
export const DEFAULT_CANDIDATE_TIMEOUT_S = 60;

/**
 * After returning, how long a candidate that keeps handles open (a timer, a worker) may go on
 * before it is stopped and its result taken; a throw inside this time is still an error.
 */
const LATE_GRACE_MS = 2000;

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Every option filled from the preset, so that a candidate module needs no preset table of its own. */
export function fullOptions(options: VariantOptions): VariantOptions {
  const c = resolveOptions(options);
  const full: VariantOptions = {
    preset: c.preset, window: c.window, size: c.size, sigma: c.sigma, k1: c.k1, k2: c.k2, dataRange: c.dataRange,
    padding: c.padding, sampleCovariance: c.sampleCovariance, crop: c.crop, skipShortAxes: c.skipShortAxes,
    downsample: c.downsample, reduction: c.reduction,
  };
  // a variant's candidate is told the variant (by name) and every option it declares: numbers
  // with their defaults filled, fields as the tensors given
  const decl = findVariant(options.variant);
  if (!namedInOutputs(decl)) return full;
  const given: Readonly<Record<string, unknown>> = { ...options, ...((options as { variantOptions?: Readonly<Record<string, unknown>> }).variantOptions ?? {}) };
  const out = full as Record<string, unknown>;
  out['variant'] = decl.name;
  for (const [key, o] of Object.entries(decl.options ?? {})) {
    const v = given[key] ?? o.default;
    if (v !== undefined) out[key] = Array.isArray(v) ? [...(v as readonly number[])] : v;
  }
  return full;
}

/**
 * The compiler's message and place for a module that does not load: esbuild (tsx) puts
 * "file:line:col: ERROR: text" in its message; node prints a SyntaxError's "file:line", the
 * source line and a caret on the child's stderr.
 */
function loadErrorText(name: string | undefined, message: string, stderr: string): string {
  const esbuild = /^(.*?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (esbuild !== null) return `${esbuild[4]} (${basename(esbuild[1]!)}:${esbuild[2]}:${esbuild[3]})`;
  const first = message.split('\n')[0]!;
  if (name === 'SyntaxError') {
    const m = /^(?:file:\/\/)?(\/[^\n]*?):(\d+)\n(?:([^\n]*)\n( *)\^)?/m.exec(stderr);
    const col = m?.[4] !== undefined ? `:${m[4].length + 1}` : '';
    const src = m?.[3]?.trim() ? `: ${m[3].trim()}` : '';
    const at = m !== null ? ` (${basename(m[1]!)}:${m[2]}${col}${src})` : '';
    return `SyntaxError: ${first}${at}`;
  }
  return first;
}

/** Which export of a candidate module is called, with what between y and the options, and how its result is named in messages. */
export interface ModuleCall {
  readonly fn: 'gradient' | 'jvp' | 'hvp';
  /** Tensors (or null) passed after x and y: jvp's dx, dy; hvp's v. */
  readonly extra: ReadonlyArray<Tensor | null>;
  /** export function <signature>, for the message when it is missing. */
  readonly signature: string;
  /** What it must return, for the message when it returns something else. */
  readonly expected: string;
  /** Its result in a sentence ('a gradient'). */
  readonly what: string;
}

const GRADIENT_CALL: ModuleCall = {
  fn: 'gradient', extra: [], signature: 'gradient(x, y, options) returning {shape, data}', expected: "a tensor {shape, data} with X's shape", what: 'a gradient',
};

/** The child entry, the same relative path from src/check/ and dist/check/. */
const CHILD = fileURLToPath(new URL('../../src/check/candidate-child.mjs', import.meta.url));

type ChildMessage =
  | { type: 'result'; shape: number[]; float32: boolean; file?: true; data?: Array<number | string> }
  | { type: 'not-tensor'; what: string }
  | { type: 'no-gradient' }
  | { type: 'threw'; message: string }
  | { type: 'load-error'; name?: string; message: string }
  | { type: 'never-settled' }
  | { type: 'late-error'; message: string };

/**
 * Runs a candidate module's gradient(x, y, options) in a child process and returns what it
 * returned (a tensor-like {shape, data}), or throws an InputError naming the file.
 */
export async function runCandidateModule(
  path: string,
  x: Tensor,
  y: Tensor,
  options: CandidateOptions,
  timeoutS = DEFAULT_CANDIDATE_TIMEOUT_S,
  call: ModuleCall = GRADIENT_CALL,
): Promise<{ shape: number[]; data: ArrayLike<number | string>; float32: boolean }> {
  const fn = call.fn;
  // the tensors travel as raw files (IPC serialisation of a 4K image takes seconds)
  const tmp = mkdtempSync(join(tmpdir(), 'ssim-grad-candidate-'));
  // removed whatever happens: a return, a throw, our exit, SIGINT, SIGTERM, SIGHUP
  const tmpRegistered = removeOnCleanup(tmp);
  const put = (name: string, t: Tensor): { shape: number[]; dtype: 'float64' | 'float32'; file: string } => {
    const file = join(tmp, name);
    writeFileSync(file, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return { shape: [...t.shape], dtype: t.data instanceof Float32Array ? 'float32' : 'float64', file };
  };
  const outFile = join(tmp, 'gradient.bin');
  let input: { x: ReturnType<typeof put>; y: ReturnType<typeof put>; fn: string; extra: Array<ReturnType<typeof put> | null> };
  try {
    input = { x: put('x.bin', x), y: put('y.bin', y), fn, extra: call.extra.map((t, i) => (t === null ? null : put(`extra${i}.bin`, t))) };
  } catch (e) {
    tmpRegistered.dispose();
    throw new InputError(`${path}: cannot hand the images to the candidate (${(e as NodeJS.ErrnoException).code ?? (e as Error).message} in ${tmpdir()})`);
  }
  // everything it starts is stopped when it is done (stop), on our exit and on a signal, also what runs in a session of its own
  let supervised: Supervised;
  try {
    supervised = spawnSupervised(process.execPath, [CHILD], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  } catch (e) {
    tmpRegistered.dispose();
    throw new InputError(`${path}: cannot start the candidate's process (${(e as Error).message})`);
  }
  const { child } = supervised;
  const out = new Tail(4000);
  const err = new Tail(4000);
  child.stdout!.on('data', (c: Buffer) => out.add(c));
  child.stderr!.on('data', (c: Buffer) => err.add(c));
  // a SyntaxError's output is node's own trace, already read for the line: no tail then
  const fail = (what: string, tail = true): InputError => new InputError(`${path}: ${what}${tail ? tailNote(out.value, err.value) : ''}`);
  try {
    return await new Promise((resolveRun, rejectRun) => {
      let result: { shape: number[]; data: ArrayLike<number | string>; float32: boolean } | undefined;
      let report: ChildMessage | undefined;
      let done = false;
      const settle = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(grace);
        supervised.stop();
        f();
      };
      const timer = setTimeout(
        () => settle(() => rejectRun(fail(`--timeout ${timeoutS} s exceeded before ${fn}() returned (the candidate was stopped)`))),
        timeoutS * 1000,
      );
      let grace: NodeJS.Timeout | undefined;
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'result' && result === undefined && report === undefined) {
          // the child is alive and has returned: what gradient() started is still its descendant now
          supervised.observe();
          // the child waits for this before it may exit, so that the observation above saw its descendants;
          // a child already gone (a late throw) makes the send fail, which the callback takes (no 'error' event)
          child.send({ type: 'observed' }, () => undefined);
          let data: ArrayLike<number | string>;
          try {
            data = m.file === true ? readRaw(outFile) : m.data ?? [];
          } catch (e) {
            return settle(() => rejectRun(fail(`cannot read the gradient back (${(e as Error).message})`)));
          }
          result = { shape: m.shape, data, float32: m.float32 };
          clearTimeout(timer);
          // keeping a timer or a worker open after returning is allowed; the result stands after the grace
          grace = setTimeout(() => settle(() => resolveRun(result!)), LATE_GRACE_MS);
        } else if (report === undefined) report = m;
      });
      child.on('error', (e) => settle(() => rejectRun(fail(`cannot start the candidate's process (${e.message})`))));
      const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        settle(() => {
          if (report !== undefined) return rejectRun(fail(reportText(report, err.value, call), !(report.type === 'load-error' && report.name === 'SyntaxError')));
          if (result === undefined) return rejectRun(fail(`the candidate ${how} before returning ${call.what} (process.exit or a crash in it is an error, not a result)`));
          if (code !== 0) return rejectRun(fail(`the candidate ${how} after returning ${call.what.replace(/^an? /, 'its ')} (a late failure counts as an error)`));
          resolveRun(result);
        });
      };
      // 'close' comes after the last message and output; a grandchild holding the pipes open must not hold us
      child.on('exit', (code, signal) => setTimeout(() => onEnd(code, signal), 500).unref());
      child.on('close', onEnd);
      child.send({ path: resolve(path), ...input, options, out: outFile }, (e) => {
        if (e) settle(() => rejectRun(fail(`cannot pass the images to the candidate's process (${e.message})`)));
      });
    });
  } finally {
    // on every way out (settle has stopped it already unless something threw first)
    supervised.stop();
    tmpRegistered.dispose();
  }
}

/** A float64 file written by the child. */
function readRaw(file: string): Float64Array {
  const b = readFileSync(file);
  if (b.byteOffset % 8 === 0) return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function reportText(m: ChildMessage, stderr: string, call: ModuleCall = GRADIENT_CALL): string {
  const fn = call.fn;
  switch (m.type) {
    case 'load-error':
      return `cannot load the module (${loadErrorText(m.name, m.message, stderr)})`;
    case 'no-gradient':
      return `exports no function '${fn}' (expected export function ${call.signature})`;
    case 'threw':
      return `${fn}() threw: ${m.message}`;
    case 'not-tensor':
      return `${fn}() returned ${m.what}, expected ${call.expected}`;
    case 'never-settled':
      return `${fn}() returned a promise that never settles (the candidate's event loop emptied while it was pending)`;
    case 'late-error':
      return `${fn}() returned, then threw: ${m.message} (a late throw or unhandled rejection counts as an error)`;
    case 'result':
      return 'returned twice';
  }
}

/**
 * Reads or computes the candidate gradient for images x, y under the options. A module runs in a
 * child process (see runCandidateModule) and receives the options with `wrt`.
 */
export async function loadCandidate(path: string, x: Tensor, y: Tensor, options: VariantOptions, run: CandidateRun = {}): Promise<LoadedCandidate> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy' || ext === '.json') {
    const t = readTensor(path);
    return { data: checkValues(path, t.shape, t.data, x), float32: t.dtype === 'float32', source: 'file' };
  }
  if (!MODULE_EXTENSIONS.includes(ext)) {
    throw new InputError(`${path}: unknown candidate type '${ext}', expected a gradient as .npy (or .json) or a module (.ts, .js, .mjs) exporting gradient(x, y, options)`);
  }
  if (!existsSync(path)) throw new InputError(`${path}: cannot read (no such file)`);
  const r = await runCandidateModule(path, x, y, { ...fullOptions(options), wrt: run.wrt ?? 'x' }, run.timeoutS);
  const data = checkValues(`${path}: gradient()`, r.shape, r.data, x);
  return { data, float32: r.float32, source: 'module' };
}

/** A candidate JVP as the checker takes it: one number. */
export interface LoadedJvp {
  readonly value: number;
  readonly float32: boolean;
  readonly source: 'file' | 'module';
}

/** The options a JVP or HVP candidate module receives (wrt: the HVP's image; for a JVP 'x'). */
export type ForwardCandidateOptions = CandidateOptions;

/**
 * Reads or computes a candidate JVP: a tensor file holding one number (0-d, or one element), or a
 * module exporting jvp(x, y, dx, dy, options) returning a number (or a one-element tensor); dy is
 * null when y does not move. The module runs isolated, as a gradient candidate.
 */
export async function loadJvpCandidate(
  path: string, x: Tensor, y: Tensor, dx: Tensor, dy: Tensor | null, options: VariantOptions, run: CandidateRun = {},
): Promise<LoadedJvp> {
  const one = (where: string, shape: readonly number[], data: ArrayLike<unknown>): number => {
    if (data.length !== 1) throw new InputError(`${where}: shape [${shape.join(', ')}] holds ${data.length} values, expected one number (the JVP: 0-d or one element)`);
    // one value under a shape that claims more ([1e308] with data [0.1]) is not one number: the shape is [] or all ones ([1], [1, 1])
    if (!shape.every((d) => d === 1)) throw new InputError(`${where}: shape [${shape.join(', ')}] with one value, expected shape [] or [1] (the JVP: one number)`);
    const v = data[0];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${where}: the JVP is ${String(v)}, expected a finite number`);
    return v;
  };
  const ext = extname(path).toLowerCase();
  if (ext === '.npy' || ext === '.json') {
    const t = readTensor(path);
    return { value: one(path, t.shape, t.data), float32: t.dtype === 'float32', source: 'file' };
  }
  moduleOrRefuse(path, 'a JVP as .npy (one number) or a module (.ts, .js, .mjs) exporting jvp(x, y, dx, dy, options)');
  const call: ModuleCall = {
    fn: 'jvp', extra: [dx, dy], signature: 'jvp(x, y, dx, dy, options) returning a number', expected: 'a number (the JVP) or a tensor {shape, data} holding one', what: 'a JVP',
  };
  const r = await runCandidateModule(path, x, y, { ...fullOptions(options), wrt: 'x' }, run.timeoutS, call);
  return { value: one(`${path}: jvp()`, r.shape, r.data), float32: r.float32, source: 'module' };
}

/**
 * Reads or computes a candidate HVP: a tensor file with X's shape, or a module exporting
 * hvp(x, y, v, options) returning H v with X's shape (options.wrt: the image of the Hessian's rows
 * and of v). The module runs isolated, as a gradient candidate.
 */
export async function loadHvpCandidate(path: string, x: Tensor, y: Tensor, v: Tensor, options: VariantOptions, run: CandidateRun = {}): Promise<LoadedCandidate> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy' || ext === '.json') {
    const t = readTensor(path);
    return { data: checkValues(path, t.shape, t.data, x), float32: t.dtype === 'float32', source: 'file' };
  }
  moduleOrRefuse(path, 'an HVP as .npy (or .json) with X\'s shape or a module (.ts, .js, .mjs) exporting hvp(x, y, v, options)');
  const call: ModuleCall = { fn: 'hvp', extra: [v], signature: 'hvp(x, y, v, options) returning {shape, data}', expected: "a tensor {shape, data} with X's shape", what: 'an HVP' };
  const r = await runCandidateModule(path, x, y, { ...fullOptions(options), wrt: run.wrt ?? 'x' }, run.timeoutS, call);
  return { data: checkValues(`${path}: hvp()`, r.shape, r.data, x), float32: r.float32, source: 'module' };
}

/** Refuses a path that is neither a module nor an existing file. */
function moduleOrRefuse(path: string, expected: string): void {
  const ext = extname(path).toLowerCase();
  if (!MODULE_EXTENSIONS.includes(ext)) throw new InputError(`${path}: unknown candidate type '${ext}', expected ${expected}`);
  if (!existsSync(path)) throw new InputError(`${path}: cannot read (no such file)`);
}
